package klaxon

import (
	"slices"
	"strings"
	"time"
)

// Policy is an escalation policy: the steps to walk until someone
// acknowledges. An incident keeps a copy of the policy it started with, so
// a reload never changes an escalation already in flight.
type Policy struct {
	Name string `json:"name"`
	// Repeat is how many more times the steps are walked after the first.
	Repeat     int           `json:"repeat,omitempty"`
	AckTimeout time.Duration `json:"ack_timeout,omitempty"`
	Steps      []Step        `json:"steps"`
	// Subscribers get status updates of the policy's incidents (opened,
	// acknowledged, a status update, resolved) without being paged:
	// "user:ID" by email, or an http(s) URL by webhook.
	Subscribers []string `json:"subscribers,omitempty"`
	// SlackChannel is the Slack channel (ID or #name) that gets a message
	// per incident of the policy, kept up to date, with buttons.
	SlackChannel string `json:"slack_channel,omitempty"`
}

// Step pages its targets, then waits EscalateAfter for an acknowledgement
// before the next step.
type Step struct {
	Targets       []Target      `json:"targets"`
	EscalateAfter time.Duration `json:"escalate_after"`
}

// Target kinds.
const (
	TargetUser     = "user"
	TargetSchedule = "schedule"
)

// Target is who a step pages: a user, or whoever is on call in a schedule.
type Target struct {
	Kind string `json:"kind"`
	Name string `json:"name"`
}

func (t Target) String() string { return t.Kind + ":" + t.Name }

// User is a person who can be paged.
type User struct {
	ID       string       `json:"id"`
	Name     string       `json:"name,omitempty"`
	Phone    string       `json:"phone,omitempty"`
	Email    string       `json:"email,omitempty"`
	TimeZone string       `json:"time_zone,omitempty"`
	Notify   []NotifyRule `json:"notify,omitempty"`
	// SlackID is the user's Slack member ID (U…): their buttons and
	// commands in Slack act as them, and via: slack messages them.
	SlackID string `json:"slack_id,omitempty"`
}

// Contact methods a notification rule can use.
const (
	ViaSMS     = "sms"
	ViaVoice   = "voice"
	ViaEmail   = "email"
	ViaWebhook = "webhook"
	ViaSlack   = "slack"
	ViaConsole = "console"
)

// NotifyRule says how a user is reached for each page: by which contact
// method, and how long after the page is first sent. A rule with an
// Urgency applies only to incidents of that urgency.
type NotifyRule struct {
	Via     string        `json:"via"`
	After   time.Duration `json:"after"`
	Urgency Urgency       `json:"urgency,omitempty"`
}

// Urgency says how hard an incident pages.
type Urgency string

// Urgencies.
const (
	UrgencyHigh Urgency = "high"
	UrgencyLow  Urgency = "low"
)

// Check reports an urgency other than high, low or "" (none), as an
// error for the field urgency.
func (u Urgency) Check() error {
	switch u {
	case "", UrgencyHigh, UrgencyLow:
		return nil
	}
	return Invalid("urgency", "must be high or low, got %q", u)
}

// UrgencyOf is the urgency an alert of severity has when its route sets
// none: critical, error and page are high, as PagerDuty's severity-based
// urgency has them (Alertmanager's pagerduty_configs sends error by
// default), in any case (Grafana's and Alertmanager's rules often say
// Critical); anything else (warning, info, none) is low.
func UrgencyOf(severity string) Urgency {
	switch severity {
	case "critical", "error", "page":
		return UrgencyHigh
	}
	if strings.EqualFold(severity, "critical") || strings.EqualFold(severity, "error") || strings.EqualFold(severity, "page") {
		return UrgencyHigh
	}
	return UrgencyLow
}

// Applies reports whether rule r pages for an incident of urgency u.
func (r NotifyRule) Applies(u Urgency) bool { return r.Urgency == "" || r.Urgency == u }

// same reports whether p and o are the same policy (see
// Incident.SameHeader).
func (p *Policy) same(o *Policy) bool {
	return p.Name == o.Name && p.Repeat == o.Repeat && p.AckTimeout == o.AckTimeout &&
		slices.EqualFunc(p.Steps, o.Steps, func(s, t Step) bool {
			return s.EscalateAfter == t.EscalateAfter && slices.Equal(s.Targets, t.Targets)
		}) && slices.Equal(p.Subscribers, o.Subscribers) && p.SlackChannel == o.SlackChannel
}
