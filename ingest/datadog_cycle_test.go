package ingest_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/ingest"
)

// ddFixture decodes testdata/datadog/<name> with the fields of set in
// place of the fixture's: another transition of the same monitor.
func ddFixture(t *testing.T, name string, set map[string]any) []klaxon.Alert {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "datadog", name))
	require.NoError(t, err)
	var body map[string]any
	require.NoError(t, json.Unmarshal(b, &body))
	for k, v := range set {
		body[k] = v
	}
	b, err = json.Marshal(body)
	require.NoError(t, err)
	alerts, err := ingest.DecodeDatadog("datadog", b)
	require.NoError(t, err)
	return alerts
}

// ddAt is a $DATE: milliseconds since the epoch, as text.
func ddAt(at time.Time) string { return strconv.FormatInt(at.UnixMilli(), 10) }

// TestDatadogAlertCycle: through the pipeline and a store, one alert
// cycle of a Datadog monitor is one occurrence of its alert, whatever
// transitions it goes through until it recovers: Warn, No Data, back to
// Alert, and renotifications leave the count at 1 and the start at the
// cycle's; the severity follows the latest transition, and the recovery
// keeps the one the alert fired with. Once recovered, the monitor's next
// cycle is a new occurrence.
func TestDatadogAlertCycle(t *testing.T) {
	for name, open := range stores {
		t.Run(name, func(t *testing.T) { testDatadogAlertCycle(t, open(t)) })
	}
}

func testDatadogAlertCycle(t *testing.T, st klaxon.Store) {
	var now time.Time
	p := ingest.NewPipeline(st, func() ingest.Router { return oneGroup{} }, nil, func() time.Time { return now })
	send := func(at time.Time, alerts []klaxon.Alert) {
		t.Helper()
		now = at.Add(time.Second) // Datadog's delivery takes a moment
		require.NoError(t, p.Accept(t.Context(), alerts))
	}
	type shown struct {
		Status   klaxon.Status
		Severity string
		Count    int
		StartsAt time.Time
	}
	alertsOf := func(id string) map[string]shown {
		t.Helper()
		alerts, _, err := st.IncidentAlerts(t.Context(), id, "", 10)
		require.NoError(t, err)
		out := make(map[string]shown, len(alerts))
		for _, a := range alerts {
			out[a.Key] = shown{a.Status, a.Severity, a.Count, a.StartsAt}
		}
		return out
	}
	refired := func(id string) int {
		t.Helper()
		events, err := klaxon.ReadTimeline(t.Context(), st, id)
		require.NoError(t, err)
		return len(slices.DeleteFunc(events, func(e klaxon.Event) bool { return e.Kind != klaxon.EventAlertRefired }))
	}

	t.Run("keyed by the cycle key: Alert, Warn, No Data, renotified, recovered", func(t *testing.T) {
		const key = "datadog/7412904861038742911"
		const group = "gAPI p99 latency above 2s"
		start := time.UnixMilli(1795478400000).UTC() // triggered.json's $DATE
		transition := func(id, transition, alertType string, at time.Time) []klaxon.Alert {
			return ddFixture(t, "triggered.json", map[string]any{"id": id, "transition": transition, "alert_type": alertType,
				"title": "[" + transition + " on {host:web-3,env:prod}] API p99 latency above 2s", "date": ddAt(at)})
		}

		send(start, ddFixture(t, "triggered.json", nil))
		inc := openIncident(t, st, group)
		require.Equal(t, klaxon.UrgencyHigh, inc.Urgency)
		require.Equal(t, map[string]shown{key: {klaxon.Firing, "critical", 1, start}}, alertsOf(inc.ID))

		for _, step := range []struct {
			name, id, transition, alertType string
			after                           time.Duration
			severity                        string
		}{
			{"Alert → Warn", "7412904861038742920", "Warn", "warning", 5 * time.Minute, "warning"},
			{"Warn → No Data", "7412904861038742921", "No Data", "error", 8 * time.Minute, "critical"},
			{"No Data → Alert", "7412904861038742922", "Triggered", "error", 10 * time.Minute, "critical"},
			{"Alert → Warn again", "7412904861038742923", "Warn", "warning", 11 * time.Minute, "warning"},
			{"renotified while in Warn", "7412904861038742924", "Re-Warn", "warning", 13 * time.Minute, "warning"},
		} {
			send(start.Add(step.after), transition(step.id, step.transition, step.alertType, start.Add(step.after)))
			require.Equal(t, map[string]shown{key: {klaxon.Firing, step.severity, 1, start}}, alertsOf(inc.ID), step.name)
		}
		require.Equal(t, klaxon.UrgencyHigh, openIncident(t, st, group).Urgency, "a Warn within the cycle pages at no other urgency")

		recoveredAt := time.UnixMilli(1795479300000).UTC() // recovered.json's $DATE
		send(recoveredAt, ddFixture(t, "recovered.json", nil))
		got, err := st.Incident(t.Context(), inc.ID)
		require.NoError(t, err)
		require.Equal(t, klaxon.StateResolved, got.State)
		require.Equal(t, map[string]shown{key: {klaxon.Resolved, "warning", 1, recoveredAt}}, alertsOf(inc.ID),
			"the recovery keeps the severity the alert fired with last")
		require.Zero(t, refired(inc.ID))
	})

	t.Run("keyed by monitor and scope: a Warn opens, goes to Alert, recovers, warns again", func(t *testing.T) {
		const group = "gDisk usage above 80%"
		start := time.UnixMilli(1795480000000).UTC() // warn-no-cycle-key.json's $DATE
		host := func(host, transition, alertType string, at time.Time) []klaxon.Alert {
			return ddFixture(t, "warn-no-cycle-key.json", map[string]any{"transition": transition, "alert_type": alertType,
				"title": "[" + transition + " on {host:" + host + "}] Disk usage above 80%", "scope": "host:" + host,
				"hostname": host, "tags": "env:prod,host:" + host + ",service:postgres", "date": ddAt(at)})
		}
		db1 := "datadog/" + klaxon.HashFields("123456", "145209001", "host:db-1")
		db2 := "datadog/" + klaxon.HashFields("123456", "145209001", "host:db-2")

		send(start, ddFixture(t, "warn-no-cycle-key.json", nil))
		inc := openIncident(t, st, group)
		require.Equal(t, "warning", inc.Severity)
		require.Equal(t, klaxon.UrgencyLow, inc.Urgency, "a Warn opens an incident of low urgency, as PagerDuty has a warning")

		send(start.Add(time.Minute), host("db-2", "Warn", "warning", start.Add(time.Minute)))
		send(start.Add(5*time.Minute), host("db-1", "Triggered", "error", start.Add(5*time.Minute)))
		require.Equal(t, map[string]shown{
			db1: {klaxon.Firing, "critical", 1, start.Add(5 * time.Minute)},
			db2: {klaxon.Firing, "warning", 1, start.Add(time.Minute)},
		}, alertsOf(inc.ID), "Warn → Alert is the same occurrence, now critical, dated by its latest transition")

		send(start.Add(10*time.Minute), host("db-1", "Recovered", "success", start.Add(10*time.Minute)))
		rewarn := start.Add(20 * time.Minute)
		send(rewarn, host("db-1", "Warn", "warning", rewarn))
		require.Equal(t, inc.ID, openIncident(t, st, group).ID, "db-2 kept the incident open")
		require.Equal(t, map[string]shown{
			db1: {klaxon.Firing, "warning", 2, rewarn},
			db2: {klaxon.Firing, "warning", 1, start.Add(time.Minute)},
		}, alertsOf(inc.ID), "the cycle after the recovery is a new occurrence")
		require.Equal(t, 1, refired(inc.ID))
	})
}
