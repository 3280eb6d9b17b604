package review

import (
	"cmp"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/klaxonhq/klaxon"
)

// Incident is an incident with its timeline: what NewReport reads of
// the history.
type Incident struct {
	*klaxon.Incident
	Timeline []klaxon.Event `json:"timeline"`
	// counted are alerts' events that Load counted rather than kept
	// (see folder), by the name they count under (alertName).
	counted map[string]int
}

// Groupings a report can have (Options.By).
const (
	// ByPolicy groups incidents by the name of their escalation policy.
	ByPolicy = "policy"
	// ByService groups incidents by their service label.
	ByService = "service"
	// ByIntegration groups incidents by the integration of the alert that
	// opened them: their integration label when they have one, else the
	// integration that scopes the key of the first alert on their
	// timeline (klaxon.AlertKey: "integration/id").
	ByIntegration = "integration"
	// ByUser groups incidents by the people they paged: an incident is in
	// the group of each person it sent a page to, and a group's pages are
	// those to its person alone.
	ByUser = "user"
)

// CheckBy returns an error matching klaxon.ErrInvalid unless by is ""
// or one of the groupings: ByPolicy, ByService, ByIntegration, ByUser.
func CheckBy(by string) error {
	switch by {
	case "", ByPolicy, ByService, ByIntegration, ByUser:
		return nil
	}
	return klaxon.Invalid("by", "must be %s, %s, %s or %s, got %q", ByPolicy, ByService, ByIntegration, ByUser, by)
}

// DefaultTop is how many of the noisiest alerts a report lists unless
// Options.Top says otherwise.
const DefaultTop = 10

// Options say which incidents a report is of, and how to count.
type Options struct {
	// Since and Until bound when the incidents were opened: from Since,
	// included, to Until, excluded. A zero bound does not bound.
	Since, Until time.Time
	// By groups the incidents (ByPolicy, ByService, ByIntegration,
	// ByUser); "" does not group them. Any other value groups nothing
	// (see CheckBy).
	By string
	// Users finds the people paged: their name, and the time zone their
	// work hours are in (looked up with time.LoadLocation, once per zone
	// and report). nil knows nobody: every zone is UTC.
	Users func(id string) (klaxon.User, bool)
	// WorkHours are when a page is not after hours; zero is 09:00–18:00,
	// Monday to Friday.
	WorkHours WorkHours
	// Top is how many of the noisiest alerts are listed; 0 is DefaultTop.
	Top int
}

// Report is the figures of the incidents opened in a window, overall
// and by group.
type Report struct {
	Since time.Time `json:"since,omitzero"`
	Until time.Time `json:"until,omitzero"`
	// By is how Groups are grouped; "" when they are not.
	By string `json:"by,omitempty"`
	// WorkHours says the work hours, as WorkHours.String does.
	WorkHours string  `json:"work_hours"`
	Overall   Figures `json:"overall"`
	// Groups are sorted by their number of incidents, most first, then
	// by key.
	Groups []Group `json:"groups,omitempty"`
}

// Group is the figures of one group of incidents.
type Group struct {
	// Key is the policy's name, the service or integration, or the user
	// paged (see the By constants); "" for the incidents that have none:
	// no service label, no known integration, nobody paged.
	Key string `json:"key"`
	Figures
}

// Figures are what a report says of a set of incidents.
type Figures struct {
	// Incidents counts the incidents opened in the window.
	Incidents int `json:"incidents"`
	// MTTA is the time from opening to the first acknowledgement (an
	// acknowledged event, or a snooze, which acknowledges), of the
	// incidents acknowledged. An incident resolved without one does not
	// count.
	MTTA Stat `json:"mtta"`
	// MTTR is the time from opening to resolving, of the incidents
	// resolved, by hand or by themselves.
	MTTR Stat `json:"mttr"`
	// Pages counts the pages that went out (page_sent events), and
	// PagesPerIncident divides them by Incidents (0 without incidents).
	Pages            int     `json:"pages"`
	PagesPerIncident float64 `json:"pages_per_incident"`
	// EscalatedBeforeAck counts the incidents whose walk reached a step
	// after the first (an escalated event with Step ≥ 1) before anybody
	// acknowledged them.
	EscalatedBeforeAck int `json:"escalated_before_ack"`
	// People are the people paged, with their pages after hours, most
	// after hours first, then most pages, then by user.
	People []PersonPages `json:"people"`
	// NoisiestByAlerts are the Top alerts by alert events, and
	// NoisiestByIncidents by incidents opened; ties are broken by the
	// other count, then by name.
	NoisiestByAlerts    []Noise `json:"noisiest_by_alerts"`
	NoisiestByIncidents []Noise `json:"noisiest_by_incidents"`
}

// PersonPages are the pages one person received, and how many of them
// came after hours: outside Options.WorkHours in the person's own time
// zone.
type PersonPages struct {
	User string `json:"user"`
	Name string `json:"name,omitempty"`
	// TimeZone is the zone the pages were placed in: the user's, or UTC
	// when they have none, or it is unknown, or so are they.
	TimeZone   string `json:"time_zone"`
	Pages      int    `json:"pages"`
	AfterHours int    `json:"after_hours"`
}

// Noise is how much noise one alert made. Alert is the alertname label
// of the incidents it opened or joined, or, for incidents without one,
// the alert's summary.
type Noise struct {
	Alert string `json:"alert"`
	// AlertEvents counts the alert's events: opening an incident
	// (triggered), joining one (alert_joined), firing again
	// (alert_refired).
	AlertEvents int `json:"alert_events"`
	// Incidents counts the incidents it opened.
	Incidents int `json:"incidents"`
}

// NewReport works out the figures of the incidents of history opened in
// [o.Since, o.Until), overall and grouped by o.By. Every figure is of
// those incidents and of all of their timelines, whenever their events
// happened; events a merge copied from another incident are not counted
// (they are the other incident's). Incidents without a header are
// skipped.
func NewReport(history []Incident, o Options) Report {
	if o.Top <= 0 {
		o.Top = DefaultTop
	}
	o.WorkHours = o.WorkHours.orDefault()
	c := counter{o: o, zones: map[string]*time.Location{}}
	var in []Incident
	for _, h := range history {
		if h.Incident == nil || (!o.Since.IsZero() && h.CreatedAt.Before(o.Since)) ||
			(!o.Until.IsZero() && !h.CreatedAt.Before(o.Until)) {
			continue
		}
		in = append(in, Incident{Incident: h.Incident, Timeline: own(h.Timeline), counted: h.counted})
	}
	r := Report{Since: o.Since, Until: o.Until, By: o.By, WorkHours: o.WorkHours.String(), Overall: c.figures(in, "")}
	if o.By == "" || CheckBy(o.By) != nil {
		return r
	}
	groups := map[string][]Incident{}
	for _, h := range in {
		for _, k := range groupKeys(h, o.By) {
			groups[k] = append(groups[k], h)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(groups)) {
		only := ""
		if o.By == ByUser {
			only = k
		}
		r.Groups = append(r.Groups, Group{Key: k, Figures: c.figures(groups[k], only)})
	}
	slices.SortStableFunc(r.Groups, func(a, b Group) int { return b.Incidents - a.Incidents })
	return r
}

// groupKeys returns the keys of the groups h is in, grouped by by. Its
// timeline holds its own events only.
func groupKeys(h Incident, by string) []string {
	switch by {
	case ByPolicy:
		return []string{h.Policy.Name}
	case ByService:
		return []string{h.Labels["service"]}
	case ByIntegration:
		if v := h.Labels[klaxon.LabelIntegration]; v != "" {
			return []string{v}
		}
		for _, e := range h.Timeline {
			if alertEvent(e) {
				if i, _, ok := strings.Cut(e.Alert, "/"); ok {
					return []string{i}
				}
			}
		}
		return []string{""}
	}
	var users []string // ByUser
	for _, e := range h.Timeline {
		if e.Kind == klaxon.EventPageSent && !slices.Contains(users, e.User) {
			users = append(users, e.User)
		}
	}
	if len(users) == 0 {
		return []string{""}
	}
	return users
}

// counter works out figures, looking each time zone up once.
type counter struct {
	o     Options
	zones map[string]*time.Location
}

// zone returns the location of name, UTC when it is "" or unknown.
func (c *counter) zone(name string) *time.Location {
	if name == "" {
		return time.UTC
	}
	loc, ok := c.zones[name]
	if !ok {
		var err error
		if loc, err = time.LoadLocation(name); err != nil {
			loc = time.UTC
		}
		c.zones[name] = loc
	}
	return loc
}

// figures works out the figures of incs, whose timelines hold their own
// events only. When only is set, the pages counted are those to only.
func (c *counter) figures(incs []Incident, only string) Figures {
	f := Figures{Incidents: len(incs)}
	var tta, ttr []time.Duration
	people := map[string]*PersonPages{}
	locs := map[string]*time.Location{}
	noise := map[string]*Noise{}
	noisy := func(key string) *Noise {
		n, ok := noise[key]
		if !ok {
			n = &Noise{Alert: key}
			noise[key] = n
		}
		return n
	}
	for _, h := range incs {
		if e, ok := acked(h.Incident, h.Timeline); ok {
			tta = append(tta, e.At.Sub(h.CreatedAt))
		}
		if e, ok := resolved(h.Incident, h.Timeline); ok {
			ttr = append(ttr, e.At.Sub(h.CreatedAt))
		}
		if escalatedBeforeAck(h.Timeline) {
			f.EscalatedBeforeAck++
		}
		noisy(alertName(h.Incident, "")).Incidents++
		for name, n := range h.counted {
			noisy(name).AlertEvents += n
		}
		for _, e := range h.Timeline {
			if alertEvent(e) {
				noisy(alertName(h.Incident, e.Text)).AlertEvents++
			}
			if e.Kind != klaxon.EventPageSent || (only != "" && e.User != only) {
				continue
			}
			f.Pages++
			p, ok := people[e.User]
			if !ok {
				p = &PersonPages{User: e.User, TimeZone: "UTC"}
				locs[e.User] = time.UTC
				if u, known := c.user(e.User); known {
					p.Name = u.Name
					if loc := c.zone(u.TimeZone); loc != time.UTC {
						p.TimeZone, locs[e.User] = u.TimeZone, loc
					}
				}
				people[e.User] = p
			}
			p.Pages++
			if !c.o.WorkHours.Contains(e.At.In(locs[e.User])) {
				p.AfterHours++
			}
		}
	}
	f.MTTA, f.MTTR = stat(tta), stat(ttr)
	if f.Incidents > 0 {
		f.PagesPerIncident = float64(f.Pages) / float64(f.Incidents)
	}
	f.People = make([]PersonPages, 0, len(people))
	for _, p := range people {
		f.People = append(f.People, *p)
	}
	slices.SortFunc(f.People, func(a, b PersonPages) int {
		return cmp.Or(b.AfterHours-a.AfterHours, b.Pages-a.Pages, strings.Compare(a.User, b.User))
	})
	f.NoisiestByAlerts = top(noise, c.o.Top, func(n *Noise) (int, int) { return n.AlertEvents, n.Incidents })
	f.NoisiestByIncidents = top(noise, c.o.Top, func(n *Noise) (int, int) { return n.Incidents, n.AlertEvents })
	return f
}

func (c *counter) user(id string) (klaxon.User, bool) {
	if c.o.Users == nil {
		return klaxon.User{}, false
	}
	return c.o.Users(id)
}

// top returns the first n of noise by the counts of by, most first (by
// the first count, then the second, then by name), leaving out those
// whose first count is 0.
func top(noise map[string]*Noise, n int, by func(*Noise) (int, int)) []Noise {
	out := make([]Noise, 0, min(n, len(noise)))
	for _, x := range noise {
		if first, _ := by(x); first > 0 {
			out = append(out, *x)
		}
	}
	slices.SortFunc(out, func(a, b Noise) int {
		a1, a2 := by(&a)
		b1, b2 := by(&b)
		return cmp.Or(b1-a1, b2-a2, strings.Compare(a.Alert, b.Alert))
	})
	return out[:min(n, len(out))]
}

// alertName is the name an alert of inc is counted under: inc's
// alertname label, else summary (the alert's), else inc's summary.
func alertName(inc *klaxon.Incident, summary string) string {
	if v := inc.Labels["alertname"]; v != "" {
		return v
	}
	if summary != "" {
		return summary
	}
	return inc.Summary
}
