package ingest

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
)

const routingKey = "R0UTINGKEY0000000000000000000001"

func TestDecodePagerDuty(t *testing.T) {
	tests := []struct {
		name string
		body []byte
		want Event
	}{
		{
			name: "trigger.json",
			body: readTestdata(t, "pagerduty/trigger.json"),
			want: Event{RoutingKey: routingKey, Action: ActionTrigger, DedupKey: "checkout-api/latency", Alert: klaxon.Alert{
				Key: "pd/checkout-api/latency", Integration: "pd", Status: klaxon.Firing,
				Summary: "checkout-api p99 latency above 2s", Severity: "critical", Source: "web-3.prod.example.com",
				Labels: map[string]string{"component": "checkout-api", "group": "payments", "class": "latency",
					"source": "web-3.prod.example.com", "severity": "critical"},
				Annotations: map[string]string{"p99_seconds": "3.4", "threshold": "2"},
				StartsAt:    utc(t, "2026-11-23T22:10:00Z"),
				URL:         "https://grafana.example.com/d/checkout",
			}},
		},
		{
			name: "acknowledge.json",
			body: readTestdata(t, "pagerduty/acknowledge.json"),
			want: Event{RoutingKey: routingKey, Action: ActionAcknowledge, DedupKey: "checkout-api/latency", Alert: klaxon.Alert{
				Key: "pd/checkout-api/latency", Integration: "pd", Status: klaxon.Firing, Partial: true,
			}},
		},
		{
			name: "resolve.json",
			body: readTestdata(t, "pagerduty/resolve.json"),
			want: Event{RoutingKey: routingKey, Action: ActionResolve, DedupKey: "checkout-api/latency", Alert: klaxon.Alert{
				Key: "pd/checkout-api/latency", Integration: "pd", Status: klaxon.Resolved, Partial: true,
			}},
		},
		{
			name: "minimal trigger; details of every kind; RFC 3339 timestamp",
			body: []byte(`{"routing_key":"rk","event_action":"trigger","dedup_key":"d1","payload":{"summary":"s","source":"h","severity":"info",
				"timestamp":"2026-11-23T23:10:00+01:00","custom_details":{"text":"a b","n":1.50,"ok":true,"none":null,"nested":{"x": [1, 2]}}}}`),
			want: Event{RoutingKey: "rk", Action: ActionTrigger, DedupKey: "d1", Alert: klaxon.Alert{
				Key: "pd/d1", Integration: "pd", Status: klaxon.Firing, Summary: "s", Severity: "info", Source: "h",
				Labels:      map[string]string{"source": "h", "severity": "info"},
				Annotations: map[string]string{"text": "a b", "n": "1.50", "ok": "true", "none": "null", "nested": `{"x":[1,2]}`},
				StartsAt:    utc(t, "2026-11-23T22:10:00Z"),
			}},
		},
		{
			name: "custom_details a string; summary of 1024 characters",
			body: []byte(`{"routing_key":"rk","event_action":"trigger","dedup_key":"d1","payload":{"summary":"` +
				strings.Repeat("é", 1024) + `","source":"h","severity":"error","custom_details":"disk full"}}`),
			want: Event{RoutingKey: "rk", Action: ActionTrigger, DedupKey: "d1", Alert: klaxon.Alert{
				Key: "pd/d1", Integration: "pd", Status: klaxon.Firing, Summary: strings.Repeat("é", 1024),
				Severity: "error", Source: "h",
				Labels:      map[string]string{"source": "h", "severity": "error"},
				Annotations: map[string]string{"custom_details": "disk full"},
			}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodePagerDuty("pd", tt.body)
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

// TestDecodePagerDutyTimestamps: the forms of payload.timestamp senders
// write. One without a zone is UTC: Python's datetime.utcnow().isoformat()
// writes it so, and refusing it would refuse the trigger, and its page.
func TestDecodePagerDutyTimestamps(t *testing.T) {
	for _, tt := range []struct{ timestamp, want string }{
		{"2026-11-23T23:10:00+01:00", "2026-11-23T22:10:00Z"},
		{"2026-11-23T22:10:00.315+0000", "2026-11-23T22:10:00.315Z"},
		{"2026-11-23T23:10:00+01", "2026-11-23T22:10:00Z"},
		{"2026-11-23T22:10:00Z", "2026-11-23T22:10:00Z"},
		{"2026-11-23T22:10:00.123456", "2026-11-23T22:10:00.123456Z"},
		{"2026-11-23T22:10:00", "2026-11-23T22:10:00Z"},
	} {
		t.Run(tt.timestamp, func(t *testing.T) {
			got, err := DecodePagerDuty("pd", []byte(`{"routing_key":"rk","event_action":"trigger","dedup_key":"d1",`+
				`"payload":{"summary":"s","source":"h","severity":"info","timestamp":"`+tt.timestamp+`"}}`))
			require.NoError(t, err)
			require.Equal(t, utc(t, tt.want), got.Alert.StartsAt)
		})
	}
}

func TestDecodePagerDutyGeneratesDedupKey(t *testing.T) {
	body := []byte(`{"routing_key":"rk","event_action":"trigger","dedup_key":" ","payload":{"summary":"s","source":"h","severity":"warning"}}`)
	first, err := DecodePagerDuty("pd", body)
	require.NoError(t, err)
	second, err := DecodePagerDuty("pd", body)
	require.NoError(t, err)
	require.Regexp(t, regexp.MustCompile(`^[0-9a-f]{32}$`), first.DedupKey)
	require.Equal(t, "pd/"+first.DedupKey, first.Alert.Key)
	require.NotEqual(t, first.DedupKey, second.DedupKey, "each trigger without a dedup_key is a new alert")
}

func TestDecodePagerDutyErrors(t *testing.T) {
	trigger := func(payload string) []byte {
		return []byte(`{"routing_key":"rk","event_action":"trigger","payload":` + payload + `}`)
	}
	tests := []struct {
		name string
		body []byte
		want klaxon.FieldError
	}{
		{"invalid-missing-summary.json", readTestdata(t, "pagerduty/invalid-missing-summary.json"),
			klaxon.FieldError{Field: "payload.summary", Msg: "is missing or blank"}},
		{"routing_key missing", []byte(`{"event_action":"resolve","dedup_key":"d"}`),
			klaxon.FieldError{Field: "routing_key", Msg: "is missing or blank"}},
		{"event_action missing", []byte(`{"routing_key":"rk","dedup_key":"d"}`),
			klaxon.FieldError{Field: "event_action", Msg: "is missing or blank"}},
		{"event_action unknown", []byte(`{"routing_key":"rk","event_action":"create","dedup_key":"d"}`),
			klaxon.FieldError{Field: "event_action", Msg: `must be trigger, acknowledge or resolve, got "create"`}},
		{"dedup_key too long", []byte(`{"routing_key":"rk","event_action":"resolve","dedup_key":"` + strings.Repeat("k", 256) + `"}`),
			klaxon.FieldError{Field: "dedup_key", Msg: "must be at most 255 characters, got 256"}},
		{"acknowledge without dedup_key", []byte(`{"routing_key":"rk","event_action":"acknowledge"}`),
			klaxon.FieldError{Field: "dedup_key", Msg: "is missing or blank"}},
		{"resolve with a blank dedup_key", []byte(`{"routing_key":"rk","event_action":"resolve","dedup_key":"  "}`),
			klaxon.FieldError{Field: "dedup_key", Msg: "is missing or blank"}},
		{"trigger without payload", []byte(`{"routing_key":"rk","event_action":"trigger"}`),
			klaxon.FieldError{Field: "payload.summary", Msg: "is missing or blank"}},
		{"payload a string", trigger(`"disk full"`),
			klaxon.FieldError{Field: "payload", Msg: "must be an object, got string"}},
		{"summary too long", trigger(`{"summary":"` + strings.Repeat("s", 1025) + `","source":"h","severity":"info"}`),
			klaxon.FieldError{Field: "payload.summary", Msg: "must be at most 1024 characters, got 1025"}},
		{"source missing", trigger(`{"summary":"s","severity":"info"}`),
			klaxon.FieldError{Field: "payload.source", Msg: "is missing or blank"}},
		{"severity missing", trigger(`{"summary":"s","source":"h"}`),
			klaxon.FieldError{Field: "payload.severity", Msg: "is missing or blank"}},
		{"severity unknown", trigger(`{"summary":"s","source":"h","severity":"high"}`),
			klaxon.FieldError{Field: "payload.severity", Msg: `must be critical, error, warning or info, got "high"`}},
		{"severity a number", trigger(`{"summary":"s","source":"h","severity":1}`),
			klaxon.FieldError{Field: "payload.severity", Msg: "must be a string, got number"}},
		{"timestamp not a time", trigger(`{"summary":"s","source":"h","severity":"info","timestamp":"now"}`),
			klaxon.FieldError{Field: "payload.timestamp", Msg: `must be an ISO 8601 time, got "now"`}},
		{"timestamp in the year 10000 in UTC", trigger(`{"summary":"s","source":"h","severity":"info","timestamp":"9999-12-31T23:59:59-2359"}`),
			klaxon.FieldError{Field: "payload.timestamp", Msg: `must be a time in the years 0 to 9999 in UTC, got "9999-12-31T23:59:59-2359"`}},
		{"timestamp before the year 0 in UTC", trigger(`{"summary":"s","source":"h","severity":"info","timestamp":"0000-01-01T00:00:00+0001"}`),
			klaxon.FieldError{Field: "payload.timestamp", Msg: `must be a time in the years 0 to 9999 in UTC, got "0000-01-01T00:00:00+0001"`}},
		{"links an object", []byte(`{"routing_key":"rk","event_action":"resolve","dedup_key":"d","links":{}}`),
			klaxon.FieldError{Field: "links", Msg: "must be an array, got object"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := DecodePagerDuty("pd", tt.body)
			requireFieldError(t, &tt.want, err)
			require.Equal(t, Event{}, ev)
		})
	}
}

func TestPagerDutyResponses(t *testing.T) {
	_, missing := DecodePagerDuty("pd", readTestdata(t, "pagerduty/invalid-missing-summary.json"))
	_, malformed := DecodePagerDuty("pd", []byte(`{`))
	tests := []struct {
		name string
		resp Response
		want string
	}{
		{"accepted", Accepted("checkout-api/latency"),
			`{"status":"success","message":"Event processed","dedup_key":"checkout-api/latency"}`},
		{"invalid event", InvalidEvent("'payload.summary' is missing or blank"),
			`{"status":"invalid event","message":"Event object is invalid","errors":["'payload.summary' is missing or blank"]}`},
		{"invalid event from a field error", InvalidEventFrom(missing),
			`{"status":"invalid event","message":"Event object is invalid","errors":["'payload.summary' is missing or blank"]}`},
		{"invalid event from malformed JSON", InvalidEventFrom(malformed),
			`{"status":"invalid event","message":"Event object is invalid","errors":["malformed JSON at offset 1: unexpected end of JSON input"]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := json.Marshal(tt.resp)
			require.NoError(t, err)
			require.JSONEq(t, tt.want, string(b))
			require.Equal(t, tt.want, string(b), "field order as PagerDuty's")
		})
	}
}
