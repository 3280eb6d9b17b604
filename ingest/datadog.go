package ingest

import (
	"encoding/json"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/klaxonhq/klaxon"
)

// ddPayload is the body that Datadog's Webhooks integration renders from
// the payload template in examples/ (testdata/datadog/payload-template.json).
// Datadog substitutes each $VARIABLE as text, so values are strings; a
// hand-edited template may send numbers, which are taken as their text.
type ddPayload struct {
	ID            flexString `json:"id"`
	AlertID       flexString `json:"alert_id"`
	AlertCycleKey flexString `json:"alert_cycle_key"`
	AggregKey     flexString `json:"aggreg_key"`
	Transition    flexString `json:"transition"`
	AlertType     flexString `json:"alert_type"`
	Priority      flexString `json:"priority"`
	Title         flexString `json:"title"`
	Message       flexString `json:"message"`
	Scope         flexString `json:"scope"`
	Tags          flexString `json:"tags"`
	Hostname      flexString `json:"hostname"`
	EventType     flexString `json:"event_type"`
	Link          flexString `json:"link"`
	Date          flexString `json:"date"`
	Org           struct {
		ID   flexString `json:"id"`
		Name flexString `json:"name"`
	} `json:"org"`
}

// ddTransitions maps $ALERT_TRANSITION to an alert status.
var ddTransitions = map[string]klaxon.Status{
	"Triggered":    klaxon.Firing,
	"Re-Triggered": klaxon.Firing,
	"Warn":         klaxon.Firing,
	"Re-Warn":      klaxon.Firing,
	"No Data":      klaxon.Firing,
	"Re-No Data":   klaxon.Firing,
	"Renotify":     klaxon.Firing,
	"Recovered":    klaxon.Resolved,
}

// ddRenotifications are the transitions of a renotification: the monitor
// still alerts as it did, in the same cycle.
var ddRenotifications = map[string]bool{"Re-Triggered": true, "Re-Warn": true, "Re-No Data": true, "Renotify": true}

// ddSeverities maps $ALERT_TYPE, then $ALERT_PRIORITY, to a severity on
// PagerDuty's scale (critical, error, warning, info). The alert type says
// which threshold was crossed, so it wins; the priority is kept as the
// "priority" label for routing either way.
var ddSeverities = map[string]string{
	"error":   "critical",
	"warning": "warning",
	"info":    "info",
	"success": "info",
	"P1":      "critical",
	"P2":      "error",
	"P3":      "warning",
	"P4":      "info",
	"P5":      "info",
}

// DecodeDatadog decodes a Datadog webhook body rendered from Klaxon's
// payload template into one alert.
//
// Status comes from "transition": Recovered is resolved; Triggered,
// Re-Triggered, Warn, Re-Warn, No Data, Re-No Data and Renotify are firing.
// The id is "alert_cycle_key" (shared by an alert and its recovery), or when
// that is empty a hash of org.id, alert_id and the sorted scope.
//
// Labels are the tags ("k:v" gives k=v, a bare tag gives tag=""), then
// alertname (the title without Datadog's "[Triggered on ...] " prefix),
// host (hostname) and priority. Summary is that title. Severity is mapped
// from alert_type (error→critical, warning→warning, info and
// success→info), or when alert_type is empty or unknown from priority
// (P1→critical, P2→error, P3→warning, P4 and P5→info); a recovery's
// (success: info) is not kept, the alert keeps the one it fired with
// (see incident.Apply). URL is link, StartsAt
// is date (milliseconds since the epoch), Source is hostname; message,
// scope, event_type and org name become annotations.
//
// An alert cycle, from the notification that opens it to its recovery,
// is one occurrence of the alert, whatever transitions it goes through
// (Alert, Warn, No Data and back) and however often it renotifies: while
// the alert fires it is the occurrence firing, with the severity of its
// latest transition. Each notification is dated when it was sent, not
// when the cycle began:
//   - A cycle key names the cycle, so every firing notification of it is
//     marked Repeat: the one that opens the alert gives its start, and
//     the monitor's next cycle is a new alert.
//   - Without one (keyed by monitor and scope), a Triggered, Warn or No
//     Data may also open the next cycle after a recovery that has not
//     come: a recovery Datadog retries after a 5xx may arrive after it.
//     Such a notification is marked Continues: it moves the alert's start
//     to its date, so that the recovery, which ended before, is late and
//     resolves nothing; the count stays. Renotifications (Re-Triggered,
//     Re-Warn, Re-No Data, Renotify) never open a cycle, and are Repeat.
//     After a recovery, the next cycle fires the alert again.
func DecodeDatadog(integration string, body []byte) ([]klaxon.Alert, error) {
	var p ddPayload
	if err := decodeJSON(body, &p); err != nil {
		return nil, err
	}
	transition := string(p.Transition)
	if transition == "" {
		return nil, klaxon.Invalid("transition", "required")
	}
	status, ok := ddTransitions[transition]
	if !ok {
		return nil, klaxon.Invalid("transition", "must be one of Triggered, Re-Triggered, Recovered, "+
			"Warn, Re-Warn, No Data, Re-No Data, Renotify, got %q", transition)
	}
	starts, err := ddDate(string(p.Date))
	if err != nil {
		return nil, err
	}
	id := string(p.AlertCycleKey)
	if id == "" {
		if p.AlertID == "" {
			return nil, klaxon.Invalid("alert_id", "required when alert_cycle_key is empty")
		}
		id = klaxon.HashFields(append([]string{string(p.Org.ID), string(p.AlertID)}, ddScope(string(p.Scope))...)...)
	}

	labels := ddTags(string(p.Tags))
	title := ddTitle(string(p.Title))
	setLabel(labels, "alertname", cutTo(title, MaxLabelValue)) // the title is free text
	setLabel(labels, "host", string(p.Hostname))
	setLabel(labels, "priority", string(p.Priority))
	annotations := make(map[string]string)
	setLabel(annotations, "message", string(p.Message))
	setLabel(annotations, "scope", string(p.Scope))
	setLabel(annotations, "event_type", string(p.EventType))
	setLabel(annotations, "org", string(p.Org.Name))

	severity, ok := ddSeverities[string(p.AlertType)]
	if !ok {
		severity = ddSeverities[string(p.Priority)]
	}
	alerts := []klaxon.Alert{{
		Key:         klaxon.AlertKey(integration, id),
		Integration: integration,
		Status:      status,
		Summary:     title,
		Severity:    severity,
		Source:      string(p.Hostname),
		Labels:      labels,
		Annotations: annotations,
		StartsAt:    starts,
		URL:         string(p.Link),
	}}
	if status == klaxon.Firing {
		if p.AlertCycleKey != "" || ddRenotifications[transition] {
			alerts[0].Repeat = true
		} else {
			alerts[0].Continues = true
		}
	}
	if status == klaxon.Resolved {
		// A recovery ends the occurrence at its $DATE: one redelivered
		// after the monitor fired again (Datadog retries a 5xx) ended
		// before that occurrence started, and resolves nothing.
		alerts[0].EndsAt = starts
	}
	if err := bound(alerts, onePath); err != nil {
		return nil, err
	}
	return alerts, nil
}

// ddDate parses $DATE, milliseconds since the epoch; empty is the zero time.
func ddDate(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	ms, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		// A number in a hand-edited template may come as 1.7954784e+12.
		f, ferr := strconv.ParseFloat(s, 64)
		if ferr != nil || math.IsNaN(f) || math.Abs(f) >= 1<<62 {
			return time.Time{}, klaxon.Invalid("date", "must be milliseconds since the epoch, got %q", s)
		}
		ms = int64(f)
	}
	t := time.UnixMilli(ms).UTC()
	if !inRange(t) {
		return time.Time{}, outOfRange("date", s)
	}
	return t, nil
}

// ddScope splits $ALERT_SCOPE ("host:web-3, env:prod") into its sorted,
// trimmed parts, so that the same scope in another order hashes the same.
func ddScope(scope string) []string {
	var parts []string
	for part := range strings.SplitSeq(scope, ",") {
		if part = strings.TrimSpace(part); part != "" {
			parts = append(parts, part)
		}
	}
	slices.Sort(parts)
	return parts
}

// ddTags turns $TAGS ("env:prod,host:web-3,canary") into labels: a "k:v"
// tag is k=v, a bare tag is tag="".
func ddTags(tags string) map[string]string {
	labels := make(map[string]string)
	for tag := range strings.SplitSeq(tags, ",") {
		tag = strings.TrimSpace(tag)
		if tag == "" {
			continue
		}
		if k, v, _ := strings.Cut(tag, ":"); k != "" {
			labels[k] = v
		}
	}
	return labels
}

// ddTitle strips the prefix Datadog puts before a monitor's name in
// $EVENT_TITLE: "[P1] [Triggered on {host:web-3}] API latency" is
// "API latency". The prefix is an optional priority and then a transition,
// so a monitor named "[prod] x" keeps its name.
func ddTitle(title string) string {
	rest := title
	if p, ok := cutBracket(rest); ok && len(p) == 2 && p[0] == 'P' && p[1] >= '1' && p[1] <= '5' {
		rest = rest[len(p)+3:]
	}
	inner, ok := cutBracket(rest)
	if !ok || len(rest) == len(inner)+3 {
		return title
	}
	for t := range ddTransitions {
		if inner == t || strings.HasPrefix(inner, t+" on ") {
			return rest[len(inner)+3:]
		}
	}
	return title
}

// cutBracket returns what is inside a leading "[...] " of s.
func cutBracket(s string) (string, bool) {
	if !strings.HasPrefix(s, "[") {
		return "", false
	}
	end := strings.Index(s, "] ")
	if end < 0 {
		return "", false
	}
	return s[1:end], true
}

// setLabel sets m[k] to v unless v is empty.
func setLabel(m map[string]string, k, v string) {
	if v != "" {
		m[k] = v
	}
}

// flexString is a JSON string that may also arrive as a number, which is
// kept as its text. null is the empty string.
type flexString string

// UnmarshalJSON accepts a JSON string, number or null.
func (s *flexString) UnmarshalJSON(b []byte) error {
	switch {
	case len(b) == 0:
	case b[0] == '"':
		var v string
		if err := json.Unmarshal(b, &v); err != nil {
			return err
		}
		*s = flexString(v)
		return nil
	case b[0] == '-' || (b[0] >= '0' && b[0] <= '9'):
		*s = flexString(b)
		return nil
	case string(b) == "null":
		return nil
	}
	kind := "object"
	switch b[0] {
	case '[':
		kind = "array"
	case 't', 'f':
		kind = "bool"
	}
	return &json.UnmarshalTypeError{Value: kind, Type: reflect.TypeFor[flexString]()}
}
