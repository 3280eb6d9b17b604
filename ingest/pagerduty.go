package ingest

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/klaxonhq/klaxon"
)

// PagerDuty Events API v2 event actions.
const (
	ActionTrigger     = "trigger"
	ActionAcknowledge = "acknowledge"
	ActionResolve     = "resolve"
)

// PagerDuty's limits on an event.
const (
	maxSummary  = 1024
	maxDedupKey = 255
)

// Event is a PagerDuty Events API v2 event, decoded.
type Event struct {
	// RoutingKey is the integration key the event was sent with; the
	// caller checks it against the integration's token.
	RoutingKey string
	// Action is trigger, acknowledge or resolve.
	Action string
	// DedupKey is the sender's dedup_key, or the one generated for a
	// trigger without one. It goes back to the sender in the response.
	DedupKey string
	// Alert is the event as an alert. Its Status is resolved for a resolve
	// and firing otherwise: an acknowledge leaves the alert firing, so only
	// Key and Status are set and the caller acts on Action.
	Alert klaxon.Alert
}

type pdEvent struct {
	RoutingKey  string    `json:"routing_key"`
	EventAction string    `json:"event_action"`
	DedupKey    string    `json:"dedup_key"`
	Payload     pdPayload `json:"payload"`
	Links       []pdLink  `json:"links"` // images, client and client_url are ignored
}

type pdLink struct {
	Href string `json:"href"`
}

type pdPayload struct {
	Summary       string          `json:"summary"`
	Source        string          `json:"source"`
	Severity      string          `json:"severity"`
	Timestamp     string          `json:"timestamp"`
	Component     string          `json:"component"`
	Group         string          `json:"group"`
	Class         string          `json:"class"`
	CustomDetails json.RawMessage `json:"custom_details"`
}

// DecodePagerDuty decodes a PagerDuty Events API v2 body (POST /v2/enqueue),
// validating it as PagerDuty does: routing_key is required; event_action is
// trigger, acknowledge or resolve; dedup_key is at most 255 characters and
// required to acknowledge or resolve; a trigger needs payload.summary (at
// most 1024 characters), payload.source and payload.severity (critical,
// error, warning or info). Messages read as PagerDuty's once quoted by
// InvalidEventFrom: "'payload.summary' is missing or blank".
//
// A trigger without a dedup_key gets a new random one, as on PagerDuty,
// where every such event opens its own alert.
//
// The alert's labels are payload component, group, class, source and
// severity; custom_details become annotations (strings as they are, other
// values as JSON); URL is the first link; StartsAt is payload.timestamp.
func DecodePagerDuty(integration string, body []byte) (Event, error) {
	in, ok := readPagerDuty(body)
	if !ok {
		in = pdEvent{}
		if err := decodeJSON(body, &in); err != nil {
			return Event{}, err
		}
	}
	if blank(in.RoutingKey) {
		return Event{}, klaxon.Invalid("routing_key", "is missing or blank")
	}
	if n := utf8.RuneCountInString(in.DedupKey); n > maxDedupKey {
		return Event{}, klaxon.Invalid("dedup_key", "must be at most %d characters, got %d", maxDedupKey, n)
	}
	ev := Event{RoutingKey: in.RoutingKey, Action: in.EventAction, DedupKey: in.DedupKey}
	switch in.EventAction {
	case ActionTrigger:
		a, err := in.Payload.alert()
		if err != nil {
			return Event{}, err
		}
		if len(in.Links) > 0 {
			a.URL = in.Links[0].Href
		}
		if blank(ev.DedupKey) {
			ev.DedupKey = newDedupKey()
		}
		ev.Alert = a
	case ActionAcknowledge, ActionResolve:
		if blank(in.DedupKey) {
			return Event{}, klaxon.Invalid("dedup_key", "is missing or blank")
		}
		ev.Alert.Status = klaxon.Firing
		if in.EventAction == ActionResolve {
			ev.Alert.Status = klaxon.Resolved
		}
		ev.Alert.Partial = true // no payload: what was known stays
	case "":
		return Event{}, klaxon.Invalid("event_action", "is missing or blank")
	default:
		return Event{}, klaxon.Invalid("event_action",
			"must be trigger, acknowledge or resolve, got %q", in.EventAction)
	}
	ev.Alert.Integration = integration
	ev.Alert.Key = klaxon.AlertKey(integration, ev.DedupKey)
	one := []klaxon.Alert{ev.Alert}
	if err := bound(one, func(int) string { return "payload" }); err != nil {
		return Event{}, err
	}
	ev.Alert = one[0]
	return ev, nil
}

// alert validates a trigger's payload and turns it into a firing alert.
func (p *pdPayload) alert() (klaxon.Alert, error) {
	if blank(p.Summary) {
		return klaxon.Alert{}, klaxon.Invalid("payload.summary", "is missing or blank")
	}
	if n := utf8.RuneCountInString(p.Summary); n > maxSummary {
		return klaxon.Alert{}, klaxon.Invalid("payload.summary", "must be at most %d characters, got %d", maxSummary, n)
	}
	if blank(p.Source) {
		return klaxon.Alert{}, klaxon.Invalid("payload.source", "is missing or blank")
	}
	switch p.Severity {
	case "critical", "error", "warning", "info":
	case "":
		return klaxon.Alert{}, klaxon.Invalid("payload.severity", "is missing or blank")
	default:
		return klaxon.Alert{}, klaxon.Invalid("payload.severity",
			"must be critical, error, warning or info, got %q", p.Severity)
	}
	starts, err := pdTime(p.Timestamp)
	if err != nil {
		return klaxon.Alert{}, err
	}
	annotations, err := pdDetails(p.CustomDetails)
	if err != nil {
		return klaxon.Alert{}, err
	}
	labels := make(map[string]string, 5)
	setLabel(labels, "component", p.Component)
	setLabel(labels, "group", p.Group)
	setLabel(labels, "class", p.Class)
	setLabel(labels, "source", p.Source)
	setLabel(labels, "severity", p.Severity)
	return klaxon.Alert{
		Status:      klaxon.Firing,
		Summary:     p.Summary,
		Severity:    p.Severity,
		Source:      p.Source,
		Labels:      labels,
		Annotations: annotations,
		StartsAt:    starts,
	}, nil
}

// pdTimeLayouts are the ISO 8601 forms senders use for payload.timestamp;
// PagerDuty's own examples write the offset without a colon (+0000). A
// time without a zone is taken as UTC: Python's utcnow().isoformat()
// writes one so, and a trigger refused for it would page nobody.
var pdTimeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999Z0700",
	"2006-01-02T15:04:05.999999999Z07",
	"2006-01-02T15:04:05.999999999",
}

// pdTime parses payload.timestamp into UTC; empty is the zero time.
func pdTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	for _, layout := range pdTimeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			if !inRange(t) {
				return time.Time{}, outOfRange("payload.timestamp", s)
			}
			return t.UTC(), nil
		}
	}
	return time.Time{}, klaxon.Invalid("payload.timestamp", "must be an ISO 8601 time, got %q", s)
}

// pdDetails turns custom_details into annotations: a string value as it is,
// any other value as compact JSON. A custom_details that is not an object
// is kept whole under "custom_details".
func pdDetails(raw json.RawMessage) (map[string]string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	if raw[0] != '{' {
		return map[string]string{"custom_details": jsonText(raw)}, nil
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return nil, jsonError("payload.custom_details", reflect.TypeOf(fields), err)
	}
	out := make(map[string]string, len(fields))
	for k, v := range fields {
		out[k] = jsonText(v)
	}
	return out, nil
}

// jsonText is a JSON string's value, or any other JSON value compacted.
func jsonText(raw json.RawMessage) string {
	if len(raw) > 0 && raw[0] == '"' {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return s
		}
	}
	var buf bytes.Buffer
	if json.Compact(&buf, raw) != nil {
		return string(raw)
	}
	return buf.String()
}

// newDedupKey returns a random 32-hex-digit dedup key.
func newDedupKey() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails, see crypto/rand.Read
	return hex.EncodeToString(b[:])
}

func blank(s string) bool { return strings.TrimSpace(s) == "" }

// Response is the body PagerDuty's Events API v2 answers with.
type Response struct {
	Status   string   `json:"status"`
	Message  string   `json:"message"`
	DedupKey string   `json:"dedup_key,omitempty"`
	Errors   []string `json:"errors,omitempty"`
}

// Accepted is the body of a 202 for an event that was processed:
// {"status":"success","message":"Event processed","dedup_key":"..."}.
func Accepted(dedupKey string) Response {
	return Response{Status: "success", Message: "Event processed", DedupKey: dedupKey}
}

// InvalidEvent is the body of a 400 for an event that was refused:
// {"status":"invalid event","message":"Event object is invalid","errors":[...]}.
func InvalidEvent(errs ...string) Response {
	return Response{Status: "invalid event", Message: "Event object is invalid", Errors: errs}
}

// InvalidEventFrom is InvalidEvent for an error from DecodePagerDuty, worded
// as PagerDuty words it: a FieldError reads "'payload.summary' is missing or
// blank", and malformed JSON is PagerDuty's "Event object is invalid" with
// the parser's message.
func InvalidEventFrom(err error) Response {
	var fe *klaxon.FieldError
	if errors.As(err, &fe) && fe.Field != "" {
		return InvalidEvent("'" + fe.Field + "' " + fe.Msg)
	}
	if fe != nil {
		return InvalidEvent(fe.Msg)
	}
	return InvalidEvent(err.Error())
}
