package ingest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/incident"
)

func TestDecodeDatadog(t *testing.T) {
	checkout := func(extra ...string) map[string]string {
		m := map[string]string{"env": "prod", "host": "web-3", "service": "checkout-api", "team": "payments",
			"alertname": "API p99 latency above 2s", "priority": "P1"}
		for i := 0; i+1 < len(extra); i += 2 {
			m[extra[i]] = extra[i+1]
		}
		return m
	}
	tests := []struct {
		name string
		body []byte
		want klaxon.Alert
	}{
		{
			name: "triggered.json",
			body: readTestdata(t, "datadog/triggered.json"),
			want: klaxon.Alert{
				Key: "dd/7412904861038742911", Integration: "dd", Status: klaxon.Firing,
				Summary: "API p99 latency above 2s", Severity: "critical", Source: "web-3",
				Labels: checkout(),
				Annotations: map[string]string{
					"message":    "p99 latency of checkout-api is 3.4s (threshold 2s). Runbook: https://runbooks.example.com/checkout/latency",
					"scope":      "host:web-3, env:prod",
					"event_type": "query_alert_monitor",
					"org":        "Example Corp",
				},
				StartsAt: time.UnixMilli(1795478400000).UTC(),
				URL:      "https://app.datadoghq.com/event/event?id=7412904861038742911",
				Repeat:   true, // dated when sent: see TestDatadogCycle
			},
		},
		{
			name: "recovered.json: same key as its trigger",
			body: readTestdata(t, "datadog/recovered.json"),
			want: klaxon.Alert{
				Key: "dd/7412904861038742911", Integration: "dd", Status: klaxon.Resolved,
				Summary: "API p99 latency above 2s", Severity: "info", Source: "web-3",
				Labels: checkout(),
				Annotations: map[string]string{
					"message":    "p99 latency of checkout-api is 0.8s.",
					"scope":      "host:web-3, env:prod",
					"event_type": "query_alert_monitor",
					"org":        "Example Corp",
				},
				StartsAt: time.UnixMilli(1795479300000).UTC(),
				EndsAt:   time.UnixMilli(1795479300000).UTC(), // a recovery ends the occurrence then
				URL:      "https://app.datadoghq.com/event/event?id=7412911954377193302",
			},
		},
		{
			name: "no-data.json: no hostname, no host label",
			body: readTestdata(t, "datadog/no-data.json"),
			want: klaxon.Alert{
				Key: "dd/7413000000000000001", Integration: "dd", Status: klaxon.Firing,
				Summary: "Queue consumer heartbeat", Severity: "critical",
				Labels: map[string]string{"env": "prod", "service": "queue-worker",
					"alertname": "Queue consumer heartbeat", "priority": "P2"},
				Annotations: map[string]string{"message": "no data for 10 minutes", "scope": "service:queue-worker",
					"event_type": "service_check", "org": "Example Corp"},
				StartsAt: time.UnixMilli(1795480600000).UTC(),
				URL:      "https://app.datadoghq.com/event/event?id=7413000000000000001",
				Repeat:   true, // dated when sent: see TestDatadogCycle
			},
		},
		{
			name: "warn-no-cycle-key.json: hashed id, numbers for strings",
			body: readTestdata(t, "datadog/warn-no-cycle-key.json"),
			want: klaxon.Alert{
				Key:         "dd/" + klaxon.HashFields("123456", "145209001", "host:db-1"),
				Integration: "dd", Status: klaxon.Firing,
				Summary: "Disk usage above 80%", Severity: "warning", Source: "db-1",
				Labels: map[string]string{"env": "prod", "host": "db-1", "service": "postgres",
					"alertname": "Disk usage above 80%", "priority": "P3"},
				Annotations: map[string]string{"message": "disk usage on db-1 is 84%", "scope": "host:db-1",
					"event_type": "query_alert_monitor", "org": "Example Corp"},
				StartsAt:  time.UnixMilli(1795480000000).UTC(),
				URL:       "https://app.datadoghq.com/event/event?id=7412999000111222333",
				Continues: true, // no cycle key: see TestDatadogCycle
			},
		},
		{
			name: "bare tag, priority prefix, severity from priority, float date",
			body: []byte(`{"alert_cycle_key":"c1","transition":"Re-Triggered","priority":"P2","alert_type":"",
				"title":"[P2] [Re-Triggered on {service:db}] DB down","tags":"canary, env:prod,,","date":1.7954784e+12}`),
			want: klaxon.Alert{
				Key: "dd/c1", Integration: "dd", Status: klaxon.Firing, Summary: "DB down", Severity: "error",
				Labels:      map[string]string{"canary": "", "env": "prod", "alertname": "DB down", "priority": "P2"},
				Annotations: map[string]string{},
				StartsAt:    time.UnixMilli(1795478400000).UTC(),
				Repeat:      true,
			},
		},
		{
			name: "a title of its own in brackets is kept, nulls are empty",
			body: []byte(`{"alert_cycle_key":"c2","transition":"Renotify","title":"[prod] [Triggered] queue full","tags":null,"date":null}`),
			want: klaxon.Alert{
				Key: "dd/c2", Integration: "dd", Status: klaxon.Firing, Summary: "[prod] [Triggered] queue full",
				Labels:      map[string]string{"alertname": "[prod] [Triggered] queue full"},
				Annotations: map[string]string{},
				Repeat:      true,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeDatadog("dd", tt.body)
			require.NoError(t, err)
			require.Equal(t, []klaxon.Alert{tt.want}, got)
		})
	}
}

// TestDecodeDatadogTransitions: every firing transition is dated when
// Datadog sent it. Of a cycle with a key, it is marked Repeat; without
// one, a transition that may open the next cycle (Triggered, Warn, No
// Data) is marked Continues, a renotification Repeat (see
// TestDatadogCycle). A recovery is neither.
func TestDecodeDatadogTransitions(t *testing.T) {
	type want struct {
		Status            klaxon.Status
		Repeat, Continues bool
	}
	for transition, tt := range map[string]struct{ keyed, unkeyed want }{
		"Triggered":    {want{klaxon.Firing, true, false}, want{klaxon.Firing, false, true}},
		"Warn":         {want{klaxon.Firing, true, false}, want{klaxon.Firing, false, true}},
		"No Data":      {want{klaxon.Firing, true, false}, want{klaxon.Firing, false, true}},
		"Re-Triggered": {want{klaxon.Firing, true, false}, want{klaxon.Firing, true, false}},
		"Re-Warn":      {want{klaxon.Firing, true, false}, want{klaxon.Firing, true, false}},
		"Re-No Data":   {want{klaxon.Firing, true, false}, want{klaxon.Firing, true, false}},
		"Renotify":     {want{klaxon.Firing, true, false}, want{klaxon.Firing, true, false}},
		"Recovered":    {want{Status: klaxon.Resolved}, want{Status: klaxon.Resolved}},
	} {
		t.Run(transition, func(t *testing.T) {
			got, err := DecodeDatadog("dd", []byte(`{"alert_cycle_key":"k","title":"x","transition":"`+transition+`"}`))
			require.NoError(t, err)
			require.Equal(t, tt.keyed, want{got[0].Status, got[0].Repeat, got[0].Continues}, "with a cycle key")
			got, err = DecodeDatadog("dd", []byte(`{"alert_id":"7","title":"x","transition":"`+transition+`"}`))
			require.NoError(t, err)
			require.Equal(t, tt.unkeyed, want{got[0].Status, got[0].Repeat, got[0].Continues}, "keyed by monitor and scope")
		})
	}
}

func TestDecodeDatadogSeverity(t *testing.T) {
	tests := []struct{ alertType, priority, want string }{
		{"error", "P4", "critical"},
		{"warning", "P1", "warning"},
		{"info", "", "info"},
		{"success", "P1", "info"},
		{"", "P1", "critical"},
		{"", "P2", "error"},
		{"", "P3", "warning"},
		{"", "P4", "info"},
		{"", "P5", "info"},
		{"", "", ""},
		{"custom", "P9", ""},
	}
	for _, tt := range tests {
		t.Run(tt.alertType+"/"+tt.priority, func(t *testing.T) {
			got, err := DecodeDatadog("dd", []byte(`{"alert_cycle_key":"k","transition":"Triggered","alert_type":"`+
				tt.alertType+`","priority":"`+tt.priority+`"}`))
			require.NoError(t, err)
			require.Equal(t, tt.want, got[0].Severity)
		})
	}
}

func TestDecodeDatadogErrors(t *testing.T) {
	tests := []struct {
		name string
		body []byte
		want klaxon.FieldError
	}{
		{"payload-template.json: variables not rendered", readTestdata(t, "datadog/payload-template.json"),
			klaxon.FieldError{Field: "transition", Msg: `must be one of Triggered, Re-Triggered, Recovered, ` +
				`Warn, Re-Warn, No Data, Re-No Data, Renotify, got "$ALERT_TRANSITION"`}},
		{"transition missing", []byte(`{"alert_cycle_key":"k"}`),
			klaxon.FieldError{Field: "transition", Msg: "required"}},
		{"transition unknown", []byte(`{"alert_cycle_key":"k","transition":"Snoozed"}`),
			klaxon.FieldError{Field: "transition", Msg: `must be one of Triggered, Re-Triggered, Recovered, ` +
				`Warn, Re-Warn, No Data, Re-No Data, Renotify, got "Snoozed"`}},
		{"date not a number", []byte(`{"alert_cycle_key":"k","transition":"Warn","date":"yesterday"}`),
			klaxon.FieldError{Field: "date", Msg: `must be milliseconds since the epoch, got "yesterday"`}},
		{"date infinite", []byte(`{"alert_cycle_key":"k","transition":"Warn","date":"1e999"}`),
			klaxon.FieldError{Field: "date", Msg: `must be milliseconds since the epoch, got "1e999"`}},
		{"date in the year 10000", []byte(`{"alert_cycle_key":"k","transition":"Warn","date":"253402300800000"}`),
			klaxon.FieldError{Field: "date", Msg: `must be a time in the years 0 to 9999 in UTC, got "253402300800000"`}},
		{"date before the year 0", []byte(`{"alert_cycle_key":"k","transition":"Warn","date":"-62167219200001"}`),
			klaxon.FieldError{Field: "date", Msg: `must be a time in the years 0 to 9999 in UTC, got "-62167219200001"`}},
		{"no cycle key and no alert id", []byte(`{"transition":"Warn","org":{"id":"1"},"scope":"host:a"}`),
			klaxon.FieldError{Field: "alert_id", Msg: "required when alert_cycle_key is empty"}},
		{"title a bool", []byte(`{"transition":"Warn","title":true}`),
			klaxon.FieldError{Field: "title", Msg: "must be a string or number, got bool"}},
		{"tags an array", []byte(`{"transition":"Warn","tags":["env:prod"]}`),
			klaxon.FieldError{Field: "tags", Msg: "must be a string or number, got array"}},
		{"org id an object", []byte(`{"transition":"Warn","org":{"id":{}}}`),
			klaxon.FieldError{Field: "org.id", Msg: "must be a string or number, got object"}},
		{"org a string", []byte(`{"transition":"Warn","org":"Example Corp"}`),
			klaxon.FieldError{Field: "org", Msg: "must be an object, got string"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			alerts, err := DecodeDatadog("dd", tt.body)
			requireFieldError(t, &tt.want, err)
			require.Nil(t, alerts)
		})
	}
}

func TestDecodeDatadogHashedID(t *testing.T) {
	key := func(org, alertID, scope string) string {
		alerts, err := DecodeDatadog("dd", []byte(`{"transition":"Warn","org":{"id":"`+org+
			`"},"alert_id":"`+alertID+`","scope":"`+scope+`"}`))
		require.NoError(t, err)
		require.True(t, strings.HasPrefix(alerts[0].Key, "dd/"))
		return alerts[0].Key
	}
	require.Equal(t, key("1", "23", "host:a, env:prod"), key("1", "23", "env:prod,host:a"), "scope order must not matter")
	require.NotEqual(t, key("1", "23", ""), key("12", "3", ""), "(1,23) and (12,3) must differ")
	require.NotEqual(t, key("1", "2", "a,b"), key("1", "2", "a, b, c"))
}

func TestDDTitle(t *testing.T) {
	for title, want := range map[string]string{
		"[Triggered on {host:web-3,env:prod}] API p99 latency above 2s": "API p99 latency above 2s",
		"[Recovered] API latency":                "API latency",
		"[P1] [Re-No Data on {service:q}] Queue": "Queue",
		"[prod] API latency":                     "[prod] API latency",
		"[Triggered on {host:a}]":                "[Triggered on {host:a}]",
		"[Triggered] ":                           "[Triggered] ",
		"":                                       "",
		"[Warn on {host:a}] [Warn] disk at 81%":  "[Warn] disk at 81%",
		"[P3] disk at 81%":                       "[P3] disk at 81%",
		"[P3] [Warn] ":                           "[P3] [Warn] ",
	} {
		require.Equal(t, want, ddTitle(title), title)
	}
}

// TestDatadogExamplePayload: the payload the README tells users to paste
// is the template the decoder is tested against.
func TestDatadogExamplePayload(t *testing.T) {
	example, err := os.ReadFile(filepath.Join("..", "examples", "datadog-payload.json"))
	require.NoError(t, err)
	require.Equal(t, string(readTestdata(t, "datadog/payload-template.json")), string(example))
}

// TestDatadogCycle: the notifications of a Datadog monitor, as Datadog
// sends them (from warn-no-cycle-key.json, keyed by monitor and scope),
// folded as the pipeline folds them into an incident that stays open.
// One alert cycle is one occurrence, whatever transitions it goes
// through, until it recovers: its count stays 1, its severity is its
// latest transition's; the recovery keeps that severity; the next cycle
// is a new occurrence. Without a cycle key, its start is its latest
// transition's (not a renotification's), which orders a recovery
// delivered late (TestDatadogRecoveryRetriedAfterNextCycle), and a
// transition delivered again after a later one changes nothing. The
// incident's urgency is its first notification's, raised by a later
// Alert: a Warn opens one of low urgency.
func TestDatadogCycle(t *testing.T) {
	start := time.UnixMilli(1795480000000).UTC() // warn-no-cycle-key.json's $DATE
	type note struct {
		transition, alertType string
		after                 time.Duration
	}
	type shown struct {
		Status   klaxon.Status
		Severity string
		Count    int
		StartsAt time.Time
		Urgency  klaxon.Urgency
	}
	alert, warn, noData := note{"Triggered", "error", 0}, note{"Warn", "warning", 0}, note{"No Data", "error", 0}
	at := func(n note, after time.Duration) note { n.after = after; return n }
	recovered := func(after time.Duration) note { return note{"Recovered", "success", after} }
	tests := []struct {
		name  string
		notes []note
		want  shown
	}{
		{"Alert", []note{alert}, shown{klaxon.Firing, "critical", 1, start, klaxon.UrgencyHigh}},
		{"Warn", []note{warn}, shown{klaxon.Firing, "warning", 1, start, klaxon.UrgencyLow}},
		{"Alert → Warn", []note{alert, at(warn, 5*time.Minute)},
			shown{klaxon.Firing, "warning", 1, start.Add(5 * time.Minute), klaxon.UrgencyHigh}},
		{"Warn → Alert: the urgency rises", []note{warn, at(alert, 5*time.Minute)},
			shown{klaxon.Firing, "critical", 1, start.Add(5 * time.Minute), klaxon.UrgencyHigh}},
		{"Alert → Warn → No Data", []note{alert, at(warn, 5*time.Minute), at(noData, 10*time.Minute)},
			shown{klaxon.Firing, "critical", 1, start.Add(10 * time.Minute), klaxon.UrgencyHigh}},
		{"No Data → Alert → Warn", []note{noData, at(alert, 5*time.Minute), at(warn, 10*time.Minute)},
			shown{klaxon.Firing, "warning", 1, start.Add(10 * time.Minute), klaxon.UrgencyHigh}},
		{"Alert → Warn, the Warn delivered again after an Alert", []note{alert, at(warn, 5*time.Minute), at(alert, 10*time.Minute), at(warn, 5*time.Minute)},
			shown{klaxon.Firing, "critical", 1, start.Add(10 * time.Minute), klaxon.UrgencyHigh}},
		{"renotified: Re-Triggered, Renotify", []note{alert, {"Re-Triggered", "error", 10 * time.Minute}, {"Renotify", "error", 20 * time.Minute}},
			shown{klaxon.Firing, "critical", 1, start, klaxon.UrgencyHigh}},
		{"Alert → Warn, renotified", []note{alert, at(warn, 5*time.Minute), {"Re-Warn", "warning", 15 * time.Minute}},
			shown{klaxon.Firing, "warning", 1, start.Add(5 * time.Minute), klaxon.UrgencyHigh}},
		{"recovered from Warn", []note{alert, at(warn, 5*time.Minute), recovered(10 * time.Minute)},
			shown{klaxon.Resolved, "warning", 1, start.Add(10 * time.Minute), klaxon.UrgencyHigh}},
		{"the next cycle", []note{alert, at(warn, 5*time.Minute), recovered(10 * time.Minute), at(warn, 20*time.Minute), at(noData, 25*time.Minute)},
			shown{klaxon.Firing, "critical", 2, start.Add(25 * time.Minute), klaxon.UrgencyHigh}},
		{"a Warn of the cycle before, delivered after the recovery", []note{alert, recovered(10 * time.Minute), at(warn, 5*time.Minute)},
			shown{klaxon.Resolved, "critical", 1, start.Add(10 * time.Minute), klaxon.UrgencyHigh}},
	}
	fixture := readTestdata(t, "datadog/warn-no-cycle-key.json")
	tmpl := incident.Template{Group: "g", Policy: klaxon.Policy{Name: "p"}, KeepOpen: true}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var open *klaxon.Incident
			var state klaxon.AlertState
			for _, n := range tt.notes {
				var body map[string]any
				require.NoError(t, json.Unmarshal(fixture, &body))
				body["transition"], body["alert_type"] = n.transition, n.alertType
				body["title"] = "[" + n.transition + " on {host:db-1}] Disk usage above 80%"
				body["date"] = strconv.FormatInt(start.Add(n.after).UnixMilli(), 10)
				b, err := json.Marshal(body)
				require.NoError(t, err)
				alerts, err := DecodeDatadog("dd", b)
				require.NoError(t, err)
				var known map[string]klaxon.Seen
				if open != nil {
					known = map[string]klaxon.Seen{state.Key: state.Seen()}
				}
				r := incident.Apply(open, known, alerts, start.Add(n.after+time.Second), tmpl)
				require.NotNil(t, r.Incident)
				if len(r.Incident.Changed) > 0 {
					state = r.Incident.Changed[len(r.Incident.Changed)-1]
				}
				open = incident.Clone(r.Incident)
				open.Changed, open.Recorded = nil, nil
			}
			require.Equal(t, tt.want, shown{state.Status, state.Severity, state.Count, state.StartsAt, open.Urgency})
		})
	}
}
