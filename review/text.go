package review

import (
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"
)

// In is r with its window in loc, the zone Text says it in.
func (r Report) In(loc *time.Location) Report {
	if !r.Since.IsZero() {
		r.Since = r.Since.In(loc)
	}
	if !r.Until.IsZero() {
		r.Until = r.Until.In(loc)
	}
	return r
}

// Text writes r as plain text for a terminal, in aligned columns: the
// window, one row of figures for all the incidents and one per group,
// then the people paged and the noisiest alerts of all the incidents.
// The durations are medians and 90th percentiles (the means and each
// group's people and alerts are in the JSON). Names from outside are
// put on one line and cut at 60 characters; a missing figure is "-".
func (r Report) Text() string {
	var b strings.Builder
	b.WriteString("Incidents opened " + window(r.Since, r.Until))
	if r.By != "" {
		b.WriteString(", by " + r.By)
	}
	b.WriteString(".\n")

	t := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	row := func(cells ...string) { fmt.Fprintln(t, strings.Join(cells, "\t")) }
	figures := func(name string, f Figures) {
		row(name, strconv.Itoa(f.Incidents), strconv.Itoa(f.MTTA.Count), f.MTTA.median(), f.MTTA.p90(),
			strconv.Itoa(f.MTTR.Count), f.MTTR.median(), f.MTTR.p90(), strconv.Itoa(f.Pages),
			strconv.FormatFloat(f.PagesPerIncident, 'f', 1, 64), strconv.Itoa(f.EscalatedBeforeAck))
	}
	b.WriteString("\n")
	group := "GROUP"
	if r.By != "" {
		group = strings.ToUpper(r.By)
	}
	row(group, "INCIDENTS", "ACKED", "MTTA P50", "MTTA P90", "RESOLVED", "MTTR P50", "MTTR P90", "PAGES", "PAGES/INCIDENT", "ESCALATED BEFORE ACK")
	figures("(all)", r.Overall)
	for _, g := range r.Groups {
		figures(plain(g.Key), g.Figures)
	}
	t.Flush()

	b.WriteString("\nPages per person, after hours: outside " + r.WorkHours + " in their time zone.\n\n")
	if len(r.Overall.People) == 0 {
		b.WriteString("Nobody was paged.\n")
	} else {
		row("USER", "NAME", "TIME ZONE", "PAGES", "AFTER HOURS")
		for _, p := range r.Overall.People {
			row(plain(p.User), plain(p.Name), plain(p.TimeZone), strconv.Itoa(p.Pages), strconv.Itoa(p.AfterHours))
		}
		t.Flush()
	}

	noise := func(title string, list []Noise, first, second string, by func(Noise) (int, int)) {
		b.WriteString("\nNoisiest alerts, " + title + ".\n\n")
		if len(list) == 0 {
			b.WriteString("No alerts.\n")
			return
		}
		row("ALERT", first, second)
		for _, n := range list {
			a, c := by(n)
			row(plain(n.Alert), strconv.Itoa(a), strconv.Itoa(c))
		}
		t.Flush()
	}
	noise("by alert events (opened, joined, fired again)", r.Overall.NoisiestByAlerts, "ALERT EVENTS", "INCIDENTS",
		func(n Noise) (int, int) { return n.AlertEvents, n.Incidents })
	noise("by incidents opened", r.Overall.NoisiestByIncidents, "INCIDENTS", "ALERT EVENTS",
		func(n Noise) (int, int) { return n.Incidents, n.AlertEvents })
	return b.String()
}

func (s Stat) median() string {
	if s.Count == 0 {
		return "-"
	}
	return s.Median.String()
}

func (s Stat) p90() string {
	if s.Count == 0 {
		return "-"
	}
	return s.P90.String()
}

// window says [since, until) in words, each time in its own zone (the
// CLI's: see Report.In).
func window(since, until time.Time) string {
	const layout = "2006-01-02 15:04 MST"
	switch {
	case since.IsZero() && until.IsZero():
		return "at any time"
	case until.IsZero():
		return "from " + since.Format(layout)
	case since.IsZero():
		return "before " + until.Format(layout)
	}
	return "from " + since.Format(layout) + " to " + until.Format(layout)
}

// maxPlain is how many characters of a name Text shows.
const maxPlain = 60

// plain puts s on one line of at most maxPlain characters for a
// terminal: tabs, line breaks and other control characters (escape
// sequences among them) become spaces; "" is "-".
func plain(s string) string {
	if s == "" {
		return "-"
	}
	r := []rune(strings.Map(func(c rune) rune {
		if unicode.IsControl(c) {
			return ' '
		}
		return c
	}, s))
	if len(r) > maxPlain {
		r = append(r[:maxPlain-1], '…')
	}
	return string(r)
}
