package klaxon

import "time"

// State is where an incident is in its lifecycle:
// triggered → acknowledged → resolved.
type State string

// Incident states.
const (
	StateTriggered    State = "triggered"
	StateAcknowledged State = "acknowledged"
	StateResolved     State = "resolved"
)

// Open reports whether an incident in state s still accepts alerts.
func (s State) Open() bool { return s == StateTriggered || s == StateAcknowledged }

// Incident is a group of correlated alerts that pages until acknowledged.
type Incident struct {
	ID string `json:"id"`
	// Group is the correlation group key the incident belongs to.
	Group     string            `json:"group"`
	Summary   string            `json:"summary"`
	Severity  string            `json:"severity,omitempty"`
	Urgency   Urgency           `json:"urgency,omitempty"`
	Labels    map[string]string `json:"labels,omitempty"`
	State     State             `json:"state"`
	CreatedAt time.Time         `json:"created_at"`
	AckedAt   time.Time         `json:"acked_at,omitzero"`
	AckedBy   string            `json:"acked_by,omitempty"`
	// SnoozedUntil is when a snoozed incident triggers again.
	SnoozedUntil time.Time    `json:"snoozed_until,omitzero"`
	ResolvedAt   time.Time    `json:"resolved_at,omitzero"`
	ResolvedBy   string       `json:"resolved_by,omitempty"`
	Alerts       []AlertState `json:"alerts"`
	Timeline     []Event      `json:"timeline"`
	// Policy is the escalation policy as it was when the incident opened.
	Policy     Policy     `json:"policy"`
	Escalation Escalation `json:"escalation"`
	// Pending are pages decided but not yet sent: an outbox that survives
	// a crash, so that no page is missed.
	Pending []Notification `json:"pending,omitempty"`
	// Seq numbers the notifications of this incident.
	Seq int `json:"seq,omitempty"`
}

// AlertState is an alert within an incident: its latest report and how
// often it was seen.
type AlertState struct {
	Alert
	Count     int       `json:"count"`
	FirstSeen time.Time `json:"first_seen"`
	LastSeen  time.Time `json:"last_seen"`
}

// FindAlert returns the index of the alert with key in inc, or -1.
func (inc *Incident) FindAlert(key string) int {
	for i := range inc.Alerts {
		if inc.Alerts[i].Key == key {
			return i
		}
	}
	return -1
}

// Firing counts the incident's alerts that are firing.
func (inc *Incident) Firing() int {
	n := 0
	for i := range inc.Alerts {
		if inc.Alerts[i].Status == Firing {
			n++
		}
	}
	return n
}

// Record appends e to the incident's timeline.
func (inc *Incident) Record(e Event) { inc.Timeline = append(inc.Timeline, e) }

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
}

// Notification is one page to one user by one contact method, due at Due.
type Notification struct {
	ID    int       `json:"id"`
	User  string    `json:"user"`
	Via   string    `json:"via"`
	Due   time.Time `json:"due"`
	Step  int       `json:"step"`
	Round int       `json:"round"`
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
	EventAcknowledged  EventKind = "acknowledged"
	EventSnoozed       EventKind = "snoozed"
	EventResolved      EventKind = "resolved"
	EventExhausted     EventKind = "escalation_exhausted"
	// EventNobodyPaged is a step that reached nobody (no one on call, an
	// unknown user), and why; the walk moved on to the next step.
	EventNobodyPaged EventKind = "nobody_paged"
	// EventLookupFailed is a step whose targets could not be looked up
	// (a store error); it is tried again.
	EventLookupFailed EventKind = "lookup_failed"
	// EventFallback is the fallback paged after a walk that reached nobody.
	EventFallback EventKind = "fallback_paged"
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
	By   string `json:"by,omitempty"`
	How  string `json:"how,omitempty"`
	Text string `json:"text,omitempty"`
}

// Page is what a channel delivers to one person.
type Page struct {
	Incident     string
	Notification int
	User         User
	Via          string
	Summary      string
	Severity     string
	Alerts       int
	Text         string
	// Bundle counts the incidents a bundled page stands for (0 for a page
	// of one); Text then says what they are.
	Bundle int
}
