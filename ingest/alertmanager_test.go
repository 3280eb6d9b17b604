package ingest

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
)

func TestDecodeAlertmanager(t *testing.T) {
	payments := func(instance string) map[string]string {
		return map[string]string{"alertname": "HighErrorRate", "instance": instance, "service": "payments", "severity": "critical"}
	}
	paymentsSummary := map[string]string{"summary": "5xx ratio above 5% on payments"}
	tests := []struct {
		name string
		body []byte
		want []klaxon.Alert
	}{
		{
			name: "firing-one-alert.json",
			body: readTestdata(t, "alertmanager/firing-one-alert.json"),
			want: []klaxon.Alert{{
				Key: "prom/eaf09244f2c30009", Integration: "prom", Status: klaxon.Firing,
				Summary: "disk 95% full", Severity: "warning", Source: "http://vm:9093",
				Labels:      map[string]string{"alertname": "DiskFull", "instance": "db-1", "service": "db", "severity": "warning"},
				Annotations: map[string]string{"summary": "disk 95% full"},
				StartsAt:    utc(t, "2026-11-23T23:26:07.543362668Z"),
			}},
		},
		{
			name: "firing-two-alerts.json",
			body: readTestdata(t, "alertmanager/firing-two-alerts.json"),
			want: []klaxon.Alert{{
				Key: "prom/07a170fa4e47b2eb", Integration: "prom", Status: klaxon.Firing,
				Summary: "5xx ratio above 5% on payments", Severity: "critical", Source: "http://vm:9093",
				Labels:      payments("10.0.0.1:9100"),
				Annotations: map[string]string{"runbook_url": "https://runbooks.example.com/payments/5xx", "summary": "5xx ratio above 5% on payments"},
				StartsAt:    utc(t, "2026-11-23T23:26:07.51858116Z"),
				URL:         "http://prometheus:9090/graph?g0.expr=foo",
			}, {
				Key: "prom/58154c1580965620", Integration: "prom", Status: klaxon.Firing,
				Summary: "5xx ratio above 5% on payments", Severity: "critical", Source: "http://vm:9093",
				Labels: payments("10.0.0.2:9100"), Annotations: paymentsSummary,
				StartsAt: utc(t, "2026-11-23T23:26:07.531730591Z"),
			}},
		},
		{
			name: "one-resolved-one-firing.json",
			body: readTestdata(t, "alertmanager/one-resolved-one-firing.json"),
			want: []klaxon.Alert{{
				Key: "prom/07a170fa4e47b2eb", Integration: "prom", Status: klaxon.Resolved,
				Summary: "5xx ratio above 5% on payments", Severity: "critical", Source: "http://vm:9093",
				Labels: payments("10.0.0.1:9100"), Annotations: paymentsSummary,
				StartsAt: utc(t, "2026-11-23T23:26:07.51858116Z"),
				EndsAt:   utc(t, "2026-11-23T23:26:10Z"),
			}, {
				Key: "prom/58154c1580965620", Integration: "prom", Status: klaxon.Firing,
				Summary: "5xx ratio above 5% on payments", Severity: "critical", Source: "http://vm:9093",
				Labels: payments("10.0.0.2:9100"), Annotations: paymentsSummary,
				StartsAt: utc(t, "2026-11-23T23:26:07.531730591Z"),
			}},
		},
		{
			name: "no fingerprint: hash of sorted labels, summary from description",
			body: []byte(`{"version":"4","alerts":[{"status":"firing","labels":{"service":"db","alertname":"Down"},"annotations":{"description":"db is down"}}]}`),
			want: []klaxon.Alert{{
				Key: "prom/" + klaxon.HashFields("alertname", "Down", "service", "db"), Integration: "prom",
				Status: klaxon.Firing, Summary: "db is down",
				Labels:      map[string]string{"alertname": "Down", "service": "db"},
				Annotations: map[string]string{"description": "db is down"},
			}},
		},
		{
			name: "summary falls back to alertname; newer fields ignored",
			body: []byte(`{"version":"4","notification_reason":"new_alerts","routeLabels":null,"alerts":[{"status":"resolved","labels":{"alertname":"Down"},"fingerprint":"f1","endsAt":"2026-11-23T23:30:00+01:00"}]}`),
			want: []klaxon.Alert{{
				Key: "prom/f1", Integration: "prom", Status: klaxon.Resolved, Summary: "Down",
				Labels: map[string]string{"alertname": "Down"},
				EndsAt: utc(t, "2026-11-23T22:30:00Z"),
			}},
		},
		{
			name: "Grafana payload version 1 with orgId",
			body: []byte(`{"receiver":"klaxon","status":"firing","orgId":1,"alerts":[{"status":"firing","labels":{"alertname":"High memory usage","team":"blue"},"annotations":{"summary":"memory high"},"startsAt":"2021-10-12T09:51:03.157076+02:00","endsAt":"0001-01-01T00:00:00Z","generatorURL":"https://play.grafana.org/alerting/1afz29v7z/edit","fingerprint":"c6eadffa33fcdf37","silenceURL":"https://play.grafana.org/alerting/silence/new","values":{"B":44.2,"C":1}}],"externalURL":"https://play.grafana.org/","version":"1","title":"[FIRING:1]","state":"alerting"}`),
			want: []klaxon.Alert{{
				Key: "prom/c6eadffa33fcdf37", Integration: "prom", Status: klaxon.Firing,
				Summary: "memory high", Source: "https://play.grafana.org/",
				Labels: map[string]string{"alertname": "High memory usage", "team": "blue"},
				Annotations: map[string]string{
					"summary": "memory high", "silence_url": "https://play.grafana.org/alerting/silence/new",
					"values": `{"B":44.2,"C":1}`,
				},
				StartsAt: utc(t, "2021-10-12T07:51:03.157076Z"),
				URL:      "https://play.grafana.org/alerting/1afz29v7z/edit",
			}},
		},
		{
			name: "Grafana's links and values, beside the sender's own annotation",
			body: []byte(`{"orgId":1,"version":"1","alerts":[{"status":"firing","labels":{"alertname":"Disk"},"silenceURL":"https://g/s","dashboardURL":"https://g/d/abc","panelURL":"https://g/d/abc?viewPanel=2","values":{ "A" : 93.5 },"valueString":"[ var='A' value=93.5 ]","annotations":{"dashboard_url":"https://mine"}}]}`),
			want: []klaxon.Alert{{
				Key: "prom/" + labelsID(map[string]string{"alertname": "Disk"}), Integration: "prom", Status: klaxon.Firing,
				Summary: "Disk", Labels: map[string]string{"alertname": "Disk"},
				Annotations: map[string]string{
					"dashboard_url": "https://mine", "silence_url": "https://g/s", "panel_url": "https://g/d/abc?viewPanel=2",
					"values": `{"A":93.5}`, "value_string": "[ var='A' value=93.5 ]",
				},
			}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeAlertmanager("prom", tt.body)
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestDecodeAlertmanagerErrors(t *testing.T) {
	tests := []struct {
		name string
		body string
		want klaxon.FieldError
	}{
		{"version 3", `{"version":"3","alerts":[{"status":"firing","labels":{"a":"b"}}]}`,
			klaxon.FieldError{Field: "version", Msg: `must be "4", got "3"`}},
		{"version 1 without Grafana's orgId", `{"version":"1","alerts":[{"status":"firing","labels":{"a":"b"}}]}`,
			klaxon.FieldError{Field: "version", Msg: `must be "4", got "1"`}},
		{"version a number", `{"version":4}`,
			klaxon.FieldError{Field: "version", Msg: "must be a string, got number"}},
		{"no alerts key", `{"version":"4"}`, klaxon.FieldError{Field: "alerts", Msg: "no alerts"}},
		{"empty alerts", `{"alerts":[]}`, klaxon.FieldError{Field: "alerts", Msg: "no alerts"}},
		{"null body", `null`, klaxon.FieldError{Field: "alerts", Msg: "no alerts"}},
		{"alerts an object", `{"alerts":{}}`, klaxon.FieldError{Field: "alerts", Msg: "must be an array, got object"}},
		{"alert a number", `{"alerts":[{"status":"firing","labels":{"a":"b"}},7]}`,
			klaxon.FieldError{Field: "alerts[1]", Msg: "must be an object, got number"}},
		{"status misspelt", `{"alerts":[{"status":"firing","labels":{"a":"b"}},{"status":"fring","labels":{"a":"b"}}]}`,
			klaxon.FieldError{Field: "alerts[1].status", Msg: `must be firing or resolved, got "fring"`}},
		{"status missing", `{"alerts":[{"labels":{"a":"b"}}]}`,
			klaxon.FieldError{Field: "alerts[0].status", Msg: "required"}},
		{"status a bool", `{"alerts":[{"status":"firing","labels":{"a":"b"}},{"status":true}]}`,
			klaxon.FieldError{Field: "alerts[1].status", Msg: "must be a string, got bool"}},
		{"labels missing", `{"alerts":[{"status":"firing"}]}`,
			klaxon.FieldError{Field: "alerts[0].labels", Msg: "must have at least one label"}},
		{"labels empty", `{"alerts":[{"status":"firing","labels":{}}]}`,
			klaxon.FieldError{Field: "alerts[0].labels", Msg: "must have at least one label"}},
		{"label value a number", `{"alerts":[{"status":"firing","labels":{"a":"b"}},{"status":"firing","labels":{"a":1}}]}`,
			klaxon.FieldError{Field: "alerts[1].labels", Msg: "must be an object of strings, got number"}},
		{"annotations an array", `{"alerts":[{"status":"firing","labels":{"a":"b"},"annotations":[]}]}`,
			klaxon.FieldError{Field: "alerts[0].annotations", Msg: "must be an object of strings, got array"}},
		{"startsAt not a time", `{"alerts":[{"status":"firing","labels":{"a":"b"},"startsAt":"yesterday"}]}`,
			klaxon.FieldError{Field: "alerts[0].startsAt", Msg: `must be an RFC 3339 time, got "yesterday"`}},
		{"endsAt not a time", `{"alerts":[{"status":"resolved","labels":{"a":"b"},"endsAt":"2026-11-23 23:26"}]}`,
			klaxon.FieldError{Field: "alerts[0].endsAt", Msg: `must be an RFC 3339 time, got "2026-11-23 23:26"`}},
		{"startsAt in the year 10000 in UTC", `{"alerts":[{"status":"firing","labels":{"a":"b"},"startsAt":"9999-12-31T23:59:59-23:59"}]}`,
			klaxon.FieldError{Field: "alerts[0].startsAt", Msg: `must be a time in the years 0 to 9999 in UTC, got "9999-12-31T23:59:59-23:59"`}},
		{"endsAt in the year 10000 in UTC", `{"alerts":[{"status":"resolved","labels":{"a":"b"},"endsAt":"9999-12-31T23:59:59-23:59"}]}`,
			klaxon.FieldError{Field: "alerts[0].endsAt", Msg: `must be a time in the years 0 to 9999 in UTC, got "9999-12-31T23:59:59-23:59"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			alerts, err := DecodeAlertmanager("prom", []byte(tt.body))
			requireFieldError(t, &tt.want, err)
			require.Nil(t, alerts)
		})
	}
}

func TestDecodeAlertmanagerHashIsUnambiguous(t *testing.T) {
	key := func(labels string) string {
		alerts, err := DecodeAlertmanager("prom", []byte(`{"alerts":[{"status":"firing","labels":`+labels+`}]}`))
		require.NoError(t, err)
		return alerts[0].Key
	}
	require.NotEqual(t, key(`{"ab":"c"}`), key(`{"a":"bc"}`))
	require.Equal(t, key(`{"a":"1","b":"2"}`), key(`{"b":"2","a":"1"}`), "label order must not matter")
}

// alertmanagerBody is a webhook body with n firing alerts.
func alertmanagerBody(n int) []byte {
	type alert struct {
		Status       string            `json:"status"`
		Labels       map[string]string `json:"labels"`
		Annotations  map[string]string `json:"annotations"`
		StartsAt     string            `json:"startsAt"`
		EndsAt       string            `json:"endsAt"`
		GeneratorURL string            `json:"generatorURL"`
		Fingerprint  string            `json:"fingerprint"`
	}
	alerts := make([]alert, n)
	for i := range alerts {
		alerts[i] = alert{
			Status: "firing",
			Labels: map[string]string{
				"alertname": "HighErrorRate", "service": "payments", "severity": "critical",
				"instance": fmt.Sprintf("10.0.%d.%d:9100", i/256, i%256), "job": "node",
			},
			Annotations:  map[string]string{"summary": "5xx ratio above 5% on payments", "runbook_url": "https://runbooks.example.com/payments/5xx"},
			StartsAt:     "2026-11-23T23:26:07.51858116Z",
			EndsAt:       "0001-01-01T00:00:00Z",
			GeneratorURL: "http://prometheus:9090/graph?g0.expr=foo",
			Fingerprint:  fmt.Sprintf("%016x", i),
		}
	}
	b, err := json.Marshal(map[string]any{
		"receiver": "klaxon", "status": "firing", "alerts": alerts,
		"groupLabels":  map[string]string{"alertname": "HighErrorRate", "service": "payments"},
		"commonLabels": map[string]string{"alertname": "HighErrorRate", "service": "payments"},
		"externalURL":  "http://vm:9093", "version": "4", "truncatedAlerts": 0,
		"groupKey": `{}:{alertname="HighErrorRate", service="payments"}`,
	})
	if err != nil {
		panic(err)
	}
	return b
}

func BenchmarkDecodeAlertmanager(b *testing.B) {
	body := alertmanagerBody(100)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		alerts, err := DecodeAlertmanager("prom", body)
		if err != nil || len(alerts) != 100 {
			b.Fatalf("decode: %d alerts, %v", len(alerts), err)
		}
	}
}
