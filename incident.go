package klaxon

import (
	"maps"
	"net/url"
	"slices"
	"strings"
	"time"
)

// State is where an incident is in its lifecycle:
// triggered → acknowledged → resolved.
type State string

// Incident states.
const (
	StateTriggered    State = "triggered"
	StateAcknowledged State = "acknowledged"
	StateResolved     State = "resolved"
)

// States are every state, in lifecycle order.
func States() []State { return []State{StateTriggered, StateAcknowledged, StateResolved} }

// Open reports whether an incident in state s still accepts alerts.
func (s State) Open() bool { return s == StateTriggered || s == StateAcknowledged }

// Incident is a group of correlated alerts that pages until acknowledged.
type Incident struct {
	ID string `json:"id"`
	// Group is the correlation group key the incident belongs to.
	Group    string  `json:"group"`
	Summary  string  `json:"summary"`
	Severity string  `json:"severity,omitempty"`
	Urgency  Urgency `json:"urgency,omitempty"`
	// KeepOpen: the route that opened the incident turned auto_resolve
	// off, and it stays open when all its alerts resolve, until someone
	// resolves it.
	KeepOpen bool `json:"keep_open,omitempty"`
	// Labels are the group's, set when the incident opens and never
	// changed in place after: copies of the header share them (Header).
	Labels    map[string]string `json:"labels,omitempty"`
	State     State             `json:"state"`
	CreatedAt time.Time         `json:"created_at"`
	// Trace is the W3C traceparent of the delivery that opened the
	// incident, when it was traced: the escalation's spans link to it.
	Trace   string    `json:"trace,omitempty"`
	AckedAt time.Time `json:"acked_at,omitzero"`
	AckedBy string    `json:"acked_by,omitempty"`
	// SnoozedUntil is when a snoozed incident triggers again.
	SnoozedUntil time.Time `json:"snoozed_until,omitzero"`
	ResolvedAt   time.Time `json:"resolved_at,omitzero"`
	ResolvedBy   string    `json:"resolved_by,omitempty"`
	// Assignee is who works the incident: the first to acknowledge it,
	// unless someone assigned it; Commander, when set, leads the
	// response.
	Assignee  string `json:"assignee,omitempty"`
	Commander string `json:"commander,omitempty"`
	// Chat is the incident's message in its policy's Slack channel, once
	// posted: later changes update it and reply in its thread.
	Chat *Chat `json:"chat,omitempty"`
	// AlertCount counts the incident's alerts, FiringCount those firing.
	// The alerts themselves are records of their own (Store.IncidentAlerts),
	// and so is the timeline (Store.Timeline): an incident is a small
	// header whose cost does not grow with the storm it stands for.
	AlertCount  int `json:"alert_count"`
	FiringCount int `json:"firing_count"`
	// PagedAt is when the incident's first page went out: the earliest
	// page_sent recorded.
	PagedAt time.Time `json:"paged_at,omitzero"`
	// Policy is the escalation policy as it was when the incident opened.
	Policy     Policy     `json:"policy"`
	Escalation Escalation `json:"escalation"`
	// Pending are pages decided but not yet sent: an outbox that survives
	// a crash, so that no page is missed.
	Pending []Notification `json:"pending,omitempty"`
	// Seq numbers the notifications of this incident.
	Seq int `json:"seq,omitempty"`
	// WalkFrom is Seq when the incident last triggered again (its ack
	// timed out, its snooze ended, or someone escalated it while
	// acknowledged); 0 before. Its notifications numbered above it are
	// of the current walk: a mail link of an earlier page no longer acts.
	WalkFrom int `json:"walk_from,omitempty"`
	// Sent are the pages that went out, by notification: delivery reports
	// and replies find theirs here without reading the timeline.
	Sent []Sent `json:"sent,omitempty"`
	// Walked are the people the current walk turned to, each with the
	// first step that did (FallbackStep for the fallback), whether or
	// not a rule of theirs paged them: a raised urgency pages them by its
	// rules (see Escalation.RaiseDue). A new walk starts it again.
	Walked []Walked `json:"walked,omitempty"`
	// WalkedAll: Walked holds every person the current walk turned to,
	// as it began with a Klaxon that keeps them (false in headers
	// written before, whose earlier steps are looked up again).
	WalkedAll bool `json:"walked_all,omitempty"`
	// Once are the acts that may change the incident once (Actor.Once)
	// and did, recorded in the commit that made the change: an act that
	// failed is not among them, and may be tried again.
	Once []string `json:"once,omitempty"`

	// Changed are the alerts that changed since the incident was read, one
	// record per alert key, and Recorded the timeline entries recorded
	// since: a commit writes the first and appends the second to the
	// timeline. Neither is part of the stored header.
	Changed  []AlertState `json:"-"`
	Recorded []Event      `json:"-"`
}

// Walked is a person a walk turned to, and the first step that did.
type Walked struct {
	User string `json:"user"`
	Step int    `json:"step"`
	// At is when the walk first turned to User: a rule's delay for a
	// raised urgency counts from it. Zero when not known (a walk begun
	// before it was kept, looked up again): the delay counts from the
	// raise.
	At time.Time `json:"at,omitzero"`
}

// Chat is a message in a chat channel: Slack's channel ID and the
// message's timestamp, which names it.
type Chat struct {
	Channel string `json:"channel"`
	TS      string `json:"ts"`
}

// Sent is a page that went out or was tried, and what its provider
// reported of it.
type Sent struct {
	Notification int    `json:"n"`
	Step         int    `json:"step"`
	User         string `json:"user"`
	Via          string `json:"via"`
	// At is when it went out.
	At time.Time `json:"at,omitzero"`
	// Failed: sending failed for good or the provider reported it
	// undelivered; Delivered: the provider reported it delivered. Both
	// are of the latest try that went out.
	Failed    bool `json:"failed,omitempty"`
	Delivered bool `json:"delivered,omitempty"`
	// Tries counts the tries that failed and were tried again, the first
	// of them at FirstTry.
	Tries    int       `json:"tries,omitempty"`
	FirstTry time.Time `json:"first_try,omitzero"`
	// Tried is when the engine's last try of it on record ended (its
	// page_sent or page_failed event's time): a record made again, after
	// a commit that landed was answered with an error, knows it by that.
	Tried time.Time `json:"tried,omitzero"`
}

// Header returns a copy of inc without its Changed alerts and Recorded
// events: the incident as a store keeps it. What a change may alter in
// place is copied; Labels, which none does, and the Policy's targets
// are shared.
func (inc *Incident) Header() *Incident {
	h := *inc
	h.Pending = slices.Clone(inc.Pending)
	h.Sent = slices.Clone(inc.Sent)
	h.Once = slices.Clone(inc.Once)
	h.Walked = slices.Clone(inc.Walked)
	if inc.Chat != nil {
		c := *inc.Chat
		h.Chat = &c
	}
	h.Policy.Steps = slices.Clone(inc.Policy.Steps)
	h.Changed, h.Recorded = nil, nil
	return &h
}

// MergingInto begins the Once of an incident that names the incident it
// merges into, from the merge's first commit on.
const MergingInto = "merging-into:"

// MergedInto returns the ID of the incident inc merges, or merged, into;
// "" if none.
func (inc *Incident) MergedInto() string {
	for _, o := range inc.Once {
		if dst, ok := strings.CutPrefix(o, MergingInto); ok {
			return dst
		}
	}
	return ""
}

// Pages reports whether inc has a page to user: sent or tried (Sent),
// or in its outbox (Pending).
func (inc *Incident) Pages(user string) bool {
	return slices.ContainsFunc(inc.Sent, func(s Sent) bool { return s.User == user }) ||
		slices.ContainsFunc(inc.Pending, func(n Notification) bool { return n.User == user })
}

// PagedUsers returns the users inc has a page to (see Pages), each once,
// in the order of their first page.
func (inc *Incident) PagedUsers() []string {
	var users []string
	add := func(u string) {
		if !slices.Contains(users, u) {
			users = append(users, u)
		}
	}
	for _, s := range inc.Sent {
		add(s.User)
	}
	for _, n := range inc.Pending {
		add(n.User)
	}
	return users
}

// FindSent returns the sent page of notification n, or nil.
func (inc *Incident) FindSent(n int) *Sent {
	for i := range inc.Sent {
		if inc.Sent[i].Notification == n {
			return &inc.Sent[i]
		}
	}
	return nil
}

// AlertState is an alert within an incident: its latest report and how
// often it was seen.
type AlertState struct {
	Alert
	Count     int       `json:"count"`
	FirstSeen time.Time `json:"first_seen"`
	LastSeen  time.Time `json:"last_seen"`
	// Stored is Seen.Stored of the record the state was folded from:
	// what the store holds, as the store read it. It is right only for
	// a commit to the incident it was read from, at the version read: a
	// state built any other way leaves it 0 (the store then writes the
	// whole record). A store may set it, once a commit lands, to what it
	// holds then.
	Stored uint64 `json:"-"`
}

// Record appends e to the incident's timeline at the next commit, and
// keeps the header's account of the walk in step with it: the pages sent
// and their tries and reports, whether this walk reached anyone, and the
// lookups that failed since the last step. The engine decides from those,
// never by reading the timeline back.
func (inc *Incident) Record(e Event) {
	inc.Recorded = append(inc.Recorded, e)
	switch e.Kind {
	case EventTriggered:
		inc.Escalation.Reached, inc.Escalation.ReachedTrimmed = false, false
		return
	case EventEscalated:
		inc.Escalation.LookupFailures = 0
		return
	case EventLookupFailed:
		inc.Escalation.LookupFailures++
		return
	case EventPageSent, EventPageFailed, EventPageDelivered:
	default:
		return
	}
	if e.Kind == EventPageSent {
		if e.Notification == 0 || e.Notification > inc.WalkFrom {
			// A page of a walk before the incident triggered again (one
			// in flight as it was acknowledged, reported reached late)
			// reached its person for that walk: this one reached nobody
			// yet.
			inc.Escalation.Reached = true
		}
		if inc.PagedAt.IsZero() || e.At.Before(inc.PagedAt) {
			inc.PagedAt = e.At
		}
	}
	if e.Notification == 0 {
		return
	}
	s := inc.FindSent(e.Notification)
	if s == nil {
		step := 0
		if e.Step != nil {
			step = *e.Step
		}
		inc.trimSent()
		inc.Sent = append(inc.Sent, Sent{Notification: e.Notification, Step: step, User: e.User, Via: e.Via})
		s = &inc.Sent[len(inc.Sent)-1]
	}
	switch {
	case e.Kind == EventPageSent:
		// A try that went out again: reports from here on are of it. A
		// report that came before the first send was recorded stays.
		if !s.At.IsZero() {
			s.Failed, s.Delivered = false, false
		}
		s.At = e.At
		if s.Failed {
			// Reported not reached before it was recorded sent (a call
			// a machine answered, told by its TwiML first).
			inc.Escalation.Reached = inc.walkReached()
		}
	case e.Kind == EventPageFailed && e.How == HowRetry:
		s.Tries++
		if s.FirstTry.IsZero() {
			s.FirstTry = e.At
		}
	case e.Kind == EventPageFailed:
		s.Failed = true
		if !s.At.IsZero() {
			// A page that went out and did not reach its person (an SMS
			// undelivered, a call a machine answered) reached nobody,
			// as one that failed at once.
			inc.Escalation.Reached = inc.walkReached()
		}
	case e.Kind == EventPageDelivered:
		s.Delivered = true
	}
}

// walkReached reports whether a page of the walk went out and was not
// reported failed: one in Sent, or one trimmed from it (whose report,
// should one come, finds no page to record).
func (inc *Incident) walkReached() bool {
	return inc.Escalation.ReachedTrimmed || slices.ContainsFunc(inc.Sent, inc.reached)
}

// reached reports whether s is a page of the walk that went out and was
// not reported failed.
func (inc *Incident) reached(s Sent) bool {
	return s.Notification > inc.WalkFrom && !s.At.IsZero() && !s.Failed
}

// maxSent is how many of the latest pages an incident's header keeps in
// Sent, whatever became of them: delivery reports, key presses and
// retries come within minutes of their page. Past them it keeps only what
// the engine still decides from, so that an incident that pages for days
// (a policy that repeats, escalations by hand) keeps a header whose size
// does not grow with its timeline: every commit writes the header, and
// the incident list carries it.
const maxSent = 64

// trimSent makes room in Sent for one more page: once it holds maxSent,
// it drops the pages older than the latest maxSent-1 that are not the
// latest to their person by their contact method, nor in the outbox
// waiting to be tried again. The timeline keeps every page. A page of
// the walk that reached its person, dropped, is noted in
// Escalation.ReachedTrimmed.
func (inc *Incident) trimSent() {
	if len(inc.Sent) < maxSent {
		return
	}
	type to struct{ user, via string }
	latest := make(map[to]int)
	for i, s := range inc.Sent {
		latest[to{s.User, s.Via}] = i
	}
	old := len(inc.Sent) - (maxSent - 1)
	kept := make([]Sent, 0, maxSent+len(latest))
	for i, s := range inc.Sent {
		if i >= old || latest[to{s.User, s.Via}] == i ||
			slices.ContainsFunc(inc.Pending, func(n Notification) bool { return n.ID == s.Notification }) {
			kept = append(kept, s)
		} else if inc.reached(s) {
			inc.Escalation.ReachedTrimmed = true
		}
	}
	inc.Sent = kept
}

// HowEvents is the How of an act of a sender of PagerDuty events (an
// acknowledge event): a tool, not a person.
const HowEvents = "pagerduty"

// HowRetry is the How of a page's try that failed on an error that may
// pass, and that the engine tries again; other failures are final.
const HowRetry = "retry"

// Seen is what an incident keeps of one of its alerts that decides how a
// new report of the alert folds in (incident.Apply): not its labels or
// annotations, which a new report replaces whole.
type Seen struct {
	Status    Status
	StartsAt  time.Time
	Summary   string
	Severity  string
	Count     int
	FirstSeen time.Time
	LastSeen  time.Time
	// Stored, when not 0, is the store's own word for the rest of the
	// alert's record as it holds it (a digest): the fold carries it into
	// the alert's new state (AlertState.Stored), so that the commit
	// writes that rest only if it changed.
	Stored uint64
}

// Seen returns what folding a new report of a needs of it.
func (a *AlertState) Seen() Seen {
	return Seen{Status: a.Status, StartsAt: a.StartsAt, Summary: a.Summary, Severity: a.Severity,
		Count: a.Count, FirstSeen: a.FirstSeen, LastSeen: a.LastSeen, Stored: a.Stored}
}

// Escalation is where an incident is in the walk of its policy.
type Escalation struct {
	// Step is the index of the step paged last; -1 before the first page.
	Step int `json:"step"`
	// Round counts walks of the steps from the top, starting at 0.
	Round int `json:"round"`
	// NextAt is when the next step is due; zero when none is.
	NextAt time.Time `json:"next_at,omitzero"`
	// Done is set when every step of every round has paged.
	Done bool `json:"done,omitempty"`
	// Reached: a page went out since the walk began (the incident opened
	// or triggered again).
	Reached bool `json:"reached,omitempty"`
	// ReachedTrimmed: a page of the walk that reached its person was
	// trimmed from Sent (see Incident.trimSent), and counts for Reached.
	ReachedTrimmed bool `json:"reached_trimmed,omitempty"`
	// LookupFailures counts the lookups of who to page that failed since
	// the last step paged.
	LookupFailures int `json:"lookup_failures,omitempty"`
	// HeldBy names the maintenance window that holds the first step until
	// NextAt ("" when none does): ending it early sends the page then.
	HeldBy string `json:"held_by,omitempty"`
	// Fallback: the walk ended having reached nobody and turned to the
	// fallback (whether or not it paged anyone).
	Fallback bool `json:"fallback,omitempty"`
	// RaiseDue, when set, is when the engine is to page for the
	// incident's urgency, which rose while it was triggered and its walk
	// had paged (an alert of higher severity joined it): the people the
	// walk turned to so far, by their rules for the new urgency that did
	// not page them yet. A lookup of who they are that failed puts it
	// off, with the backoff of any lookup.
	RaiseDue time.Time `json:"raise_due,omitzero"`
}

// Notification is one page to one user by one contact method, due at Due.
type Notification struct {
	ID    int       `json:"id"`
	User  string    `json:"user"`
	Via   string    `json:"via"`
	Due   time.Time `json:"due"`
	Step  int       `json:"step"`
	Round int       `json:"round"`
	// PutOff says it came due and was put off (a try that failed, its
	// channel busy, a per-person limit, the store unread): Due is when it
	// is tried again, not its rule's time. An escalation by hand keeps it,
	// where it drops a later rule of the step it leaves.
	PutOff bool `json:"put_off,omitempty"`
	// PutOffAt is when it was first put off for want of a slot of its
	// channel (every slot held by pages that hang): since then it came
	// due and could not go out. A walk that reached nobody counts how
	// long its pages have failed from there, or from their first failed
	// try (Sent.FirstTry), whichever came first; zero in headers written
	// before it was kept. A page a channel defers to a time it gives (a
	// person's limit, a provider's pause) is to go then: not counted,
	// and a hold clears it.
	PutOffAt time.Time `json:"put_off_at,omitzero"`
	// Deferred says its channel held it back (a person's limit, a
	// provider's pause) and no try of it failed since: the timeline said
	// so (page_deferred), and need not again; and it is to go at the
	// time its channel gave, so its failed tries before do not count as
	// failing (a walk that reached nobody waits for it), and it is no
	// retry to give up.
	Deferred bool `json:"deferred,omitempty"`
	// HeldAt is when its channel began to hold it back, the first hold
	// since its last failed try; zero when it is not held (or in headers
	// written before it was kept, until its next hold). A page held for
	// longer than a walk waits for one (escalate's heldLimit) counts as
	// having reached nobody, as one that keeps failing does: a channel
	// that holds it again and again, without end, does not keep the
	// fallback from being paged.
	HeldAt time.Time `json:"held_at,omitzero"`
}

// EventKind names a timeline entry.
type EventKind string

// Timeline event kinds.
const (
	EventTriggered     EventKind = "triggered"
	EventAlertJoined   EventKind = "alert_joined"
	EventAlertResolved EventKind = "alert_resolved"
	EventAlertRefired  EventKind = "alert_refired"
	EventEscalated     EventKind = "escalated"
	EventPageSent      EventKind = "page_sent"
	EventPageFailed    EventKind = "page_failed"
	EventPageDelivered EventKind = "page_delivered"
	// EventPageDeferred is a page its channel held back (a person's
	// limit, a provider's pause) until the time Text says: it stays due,
	// and goes out then, unless the incident is acknowledged meanwhile.
	EventPageDeferred EventKind = "page_deferred"
	EventAcknowledged EventKind = "acknowledged"
	EventSnoozed      EventKind = "snoozed"
	EventResolved     EventKind = "resolved"
	EventExhausted    EventKind = "escalation_exhausted"
	// EventNobodyPaged is a step that reached nobody (no one on call, an
	// unknown user), and why; the walk moved on to the next step.
	EventNobodyPaged EventKind = "nobody_paged"
	// EventLookupFailed is a step whose targets could not be looked up
	// (a store error); it is tried again.
	EventLookupFailed EventKind = "lookup_failed"
	// EventFallback is the fallback paged after a walk that reached nobody.
	EventFallback EventKind = "fallback_paged"
	// EventNote is a note someone (By) wrote on the incident (Text);
	// EventStatusUpdate a note marked as an update for the incident's
	// subscribers.
	EventNote         EventKind = "note"
	EventStatusUpdate EventKind = "status_update"
	// EventAssigned makes User the incident's assignee, and
	// EventCommanderSet its commander; By is who set them.
	EventAssigned     EventKind = "assigned"
	EventCommanderSet EventKind = "commander_set"
	// EventMerged records, on the incident merged into, that the incident
	// Text names was merged into it; EventMergedInto records, on that
	// incident, where it went (Text), as it resolves.
	EventMerged     EventKind = "merged"
	EventMergedInto EventKind = "merged_into"
	// EventAlertSilenced is an alert that arrived during a maintenance
	// window (Text names it): recorded, paging nobody.
	EventAlertSilenced EventKind = "alert_silenced"
	// EventUrgencyRaised is an alert of higher severity that joined the
	// incident (Alert) and raised its urgency (Text says to what); the
	// engine's, with no Alert, says whom it paged for it.
	EventUrgencyRaised EventKind = "urgency_raised"
)

// Event is one entry of an incident's timeline: the record for the review
// after the incident.
type Event struct {
	At    time.Time `json:"at"`
	Kind  EventKind `json:"kind"`
	Alert string    `json:"alert,omitempty"`
	Step  *int      `json:"step,omitempty"`
	// Notification is the page's number within the incident.
	Notification int    `json:"notification,omitempty"`
	User         string `json:"user,omitempty"`
	Via          string `json:"via,omitempty"`
	// By is who acted (a user, or an API token's name); How is the way
	// they did it (api, sms, voice, email, auto).
	By  string `json:"by,omitempty"`
	How string `json:"how,omitempty"`
	// ViaToken is the name of the API token through which By acted, when
	// the token acted for By (act_as); empty when By is the token itself.
	ViaToken string `json:"via_token,omitempty"`
	Text     string `json:"text,omitempty"`
	// From is the incident this event was copied from by a merge; ""
	// for the incident's own.
	From string `json:"from,omitempty"`
}

// Actor is who acts on an incident, and how: By (a user, an API token's
// name, an integration), How (api, cli, sms, voice, email, auto), and
// ViaToken, the API token that acted for By when By is not the token
// itself. Once, when set, names an act that may change the incident
// once, like a mail link's: the commit that acts records it in the
// incident's Once, and an act naming a recorded one fails with ErrUsed.
type Actor struct {
	By, How, ViaToken string
	Once              string
	// Page, when set, is the notification whose page the act answers
	// (a mail link's): an incident that triggered again since then
	// (WalkFrom at or past it) refuses the act with ErrOutdated, in the
	// commit that would act.
	Page int
}

// OnceRetry begins the Once of an act that a client may send again: an
// API command's Idempotency-Key, a console button pressed twice. A retry
// follows its first try within minutes, so an incident keeps the newest
// MaxRetries of them, and its header does not grow with every keyed
// command.
const (
	OnceRetry  = "retry:"
	MaxRetries = 32
)

// AckAgain begins the Text of an acknowledged event that acknowledged
// an incident acknowledged already, restarting its ack_timeout (see
// incident.Acknowledge).
const AckAgain = "again: "

// Again reports whether e acknowledged an incident acknowledged already:
// on the timeline, but no news for its subscribers or chat thread, which
// heard of the first (a sender that sends acknowledge again every
// minute would tell them each time).
func (e Event) Again() bool {
	return e.Kind == EventAcknowledged && strings.HasPrefix(e.Text, AckAgain)
}

// Event returns an event of kind at at, by a.
func (a Actor) Event(at time.Time, kind EventKind) Event {
	return Event{At: at, Kind: kind, By: a.By, How: a.How, ViaToken: a.ViaToken}
}

// Page is what a channel delivers to one person.
type Page struct {
	Incident string
	// Opened is when the incident opened (its CreatedAt), zero when
	// unknown: with Incident, it tells the incident apart from one of
	// the same number after a store was reset, which numbers them from
	// 1 again.
	Opened       time.Time
	Notification int
	User         User
	Via          string
	Summary      string
	Severity     string
	Alerts       int
	Text         string
	// Bundle counts the incidents a bundled page stands for (0 for a page
	// of one); Text then says what they are, and Bundled names the pages
	// it stands for besides its own, for the reports of its delivery.
	Bundle  int
	Bundled []PageRef
	// Test marks a test page (klaxon test-page): of no incident, it asks
	// for no answer, and its text says so.
	Test bool
	// Update marks a status update to a subscriber, of what happened to
	// the incident (opened, acknowledged, update, resolved): it asks for
	// no act.
	Update string
}

// PageRef names one notification of one incident.
type PageRef struct {
	Incident     string
	Notification int
}

// TestText is the text of a test page sent by via.
func TestText(via string) string {
	return "Klaxon test page: pages by " + via + " reach you. No answer is needed."
}

// IncidentPath is where an incident's page in the web console is, under
// Klaxon's public URL, followed by the incident's ID.
const IncidentPath = "/incidents/"

// IncidentURL is the URL of incident's page in the web console under
// publicURL, which pages link to; empty when publicURL is.
func IncidentURL(publicURL, incident string) string {
	if publicURL == "" {
		return ""
	}
	return strings.TrimRight(publicURL, "/") + IncidentPath + url.PathEscape(incident)
}

// SameHeader reports whether inc and o have the same header: what a store
// keeps of an incident, their Changed alerts and Recorded events aside.
// A store that holds o's header need not write inc's. Times are the same
// when == says so, as in a copy: one the same instant in another
// location is told apart, and only costs a write. A nil list and an
// empty one are the same: they read back the same. TestSameHeader
// changes each field of the header in turn: one added to Incident must
// be compared here.
func (inc *Incident) SameHeader(o *Incident) bool {
	return inc.ID == o.ID && inc.Group == o.Group && inc.Summary == o.Summary && inc.Severity == o.Severity &&
		inc.Urgency == o.Urgency && inc.KeepOpen == o.KeepOpen && maps.Equal(inc.Labels, o.Labels) &&
		inc.State == o.State && inc.CreatedAt == o.CreatedAt && inc.Trace == o.Trace &&
		inc.AckedAt == o.AckedAt && inc.AckedBy == o.AckedBy && inc.SnoozedUntil == o.SnoozedUntil &&
		inc.ResolvedAt == o.ResolvedAt && inc.ResolvedBy == o.ResolvedBy && inc.Assignee == o.Assignee &&
		inc.Commander == o.Commander && ((inc.Chat == nil && o.Chat == nil) || (inc.Chat != nil && o.Chat != nil && *inc.Chat == *o.Chat)) &&
		inc.AlertCount == o.AlertCount && inc.FiringCount == o.FiringCount && inc.PagedAt == o.PagedAt &&
		inc.Policy.same(&o.Policy) && inc.Escalation == o.Escalation && slices.Equal(inc.Pending, o.Pending) &&
		inc.Seq == o.Seq && inc.WalkFrom == o.WalkFrom && slices.Equal(inc.Sent, o.Sent) && slices.Equal(inc.Walked, o.Walked) && inc.WalkedAll == o.WalkedAll &&
		slices.Equal(inc.Once, o.Once)
}
