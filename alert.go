package klaxon

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"time"
)

// Status is the state an alert source reports for one alert.
type Status string

// Alert statuses.
const (
	Firing   Status = "firing"
	Resolved Status = "resolved"
)

// Alert is one alert as a source reported it, normalised by ingest.
type Alert struct {
	// Key identifies the alert across deliveries. It is scoped by
	// integration, so two sources never share a key: see AlertKey.
	Key         string            `json:"key"`
	Integration string            `json:"integration"`
	Status      Status            `json:"status"`
	Summary     string            `json:"summary"`
	Severity    string            `json:"severity,omitempty"`
	Source      string            `json:"source,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
	StartsAt    time.Time         `json:"starts_at,omitzero"`
	EndsAt      time.Time         `json:"ends_at,omitzero"`
	URL         string            `json:"url,omitempty"`
	// Partial marks a report that says only the alert's new status, like a
	// PagerDuty resolve, which has no payload: what is known of the alert
	// (summary, severity, start, labels, annotations, source, link) stays
	// as it was, rather than being erased. It is not stored.
	Partial bool `json:"-"`
	// Repeat marks a report dated when it was sent, not when the
	// occurrence started, that repeats or continues an occurrence the
	// sender may have reported firing already (Datadog's renotifications,
	// and each firing notification of a cycle with a key of its own):
	// while the alert fires it is the occurrence firing, and its date
	// orders it only against a resolve. It is not stored.
	Repeat bool `json:"-"`
	// Continues marks a report dated when it was sent of a transition
	// that continues the occurrence firing, or may begin the next one
	// after a resolve that has not come yet (Datadog's Triggered, Warn
	// and No Data of a monitor keyed by monitor and scope): it moves the
	// occurrence's date, so that a resolve sent before it, delivered
	// late, is late; but it is no new occurrence of its own, and the
	// alert's count stays. It is not stored.
	Continues bool `json:"-"`
	// MovedTo, on a resolve that ingest makes, names the incident the
	// alert fires in now, in another group: its route or its labels
	// changed. Such a resolve made late, long after the alert moved,
	// has EndsAt set to when it moved: where the alert was seen firing
	// since, it is indexed there again instead (see incident.Apply). It
	// is not stored.
	MovedTo string `json:"-"`
}

// KeepDetails fills in what a partial report (see Alert.Partial) leaves
// out from stored, the alert as it was: labels, annotations, source,
// link and end. The seen part (summary, severity, start) is Apply's.
func (a *AlertState) KeepDetails(stored AlertState) {
	if !a.Partial {
		return
	}
	a.Labels, a.Annotations = stored.Labels, stored.Annotations
	a.Source, a.URL = stored.Source, stored.URL
	if a.EndsAt.IsZero() {
		a.EndsAt = stored.EndsAt
	}
	a.Partial = false
}

// LabelIntegration is the label every alert carries, set to the name of
// its integration unless the sender set it: routes can match by source.
const LabelIntegration = "integration"

// LabelSeverity is the label that says an alert's severity, as
// Alertmanager's alerts carry it.
const LabelSeverity = "severity"

// Label adds integration=<a.Integration> and then extra to a's labels,
// each only where a does not carry that label already (with a value):
// what the sender said wins. An alert that came with a severity keeps
// it from the integration's severity label; one that came without takes
// its severity from the severity label, so that an integration's
// severity label sets the severity (and so the urgency) of its alerts.
func (a *Alert) Label(extra map[string]string) {
	if a.Labels == nil {
		a.Labels = make(map[string]string, 1+len(extra))
	}
	if a.Labels[LabelIntegration] == "" && a.Integration != "" {
		a.Labels[LabelIntegration] = a.Integration
	}
	for k, v := range extra {
		if a.Labels[k] == "" && (k != LabelSeverity || a.Severity == "") {
			a.Labels[k] = v
		}
	}
	if a.Severity == "" {
		a.Severity = a.Labels[LabelSeverity]
	}
}

// AlertKey scopes a source's own alert identifier by integration name.
func AlertKey(integration, id string) string {
	return integration + "/" + id
}

// HashFields hashes fields so that no two different field lists collide by
// concatenation: ("ab", "c") and ("a", "bc") hash differently, because every
// field is prefixed by its length.
func HashFields(fields ...string) string {
	h := sha256.New()
	var n [8]byte
	for _, f := range fields {
		binary.BigEndian.PutUint64(n[:], uint64(len(f)))
		h.Write(n[:])
		h.Write([]byte(f))
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}
