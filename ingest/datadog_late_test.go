package ingest_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/ingest"
)

// TestDatadogLateRecoveryWithoutCycleKey: a monitor whose webhook comes
// with an empty $ALERT_CYCLE_KEY is keyed by its monitor and scope, so
// each of its alert cycles is the same alert. A recovery that Datadog
// delivers again after the monitor fired anew (Klaxon answered the first
// delivery with a 503, Datadog retries 5xx) ended before the new
// occurrence started, and, as a resolve that ended before the occurrence
// firing started, must not resolve it: the new incident stays open.
func TestDatadogLateRecoveryWithoutCycleKey(t *testing.T) {
	st := openEmbedded(t)
	now := t0.Add(time.Hour)
	p := ingest.NewPipeline(st, func() ingest.Router { return oneGroup{} }, nil, func() time.Time { return now })
	body := func(transition, alertType string, at time.Time) []klaxon.Alert {
		t.Helper()
		alerts, err := ingest.DecodeDatadog("datadog", fmt.Appendf(nil, `{"id": "1", "alert_id": "145209001", "alert_cycle_key": "",
			"transition": %q, "alert_type": %q, "priority": "P2", "title": "[%s on {host:db-1}] Disk usage above 80%%",
			"scope": "host:db-1", "tags": "env:prod,host:db-1,service:postgres", "hostname": "db-1", "date": "%d", "org": {"id": "123456"}}`,
			transition, alertType, transition, at.UnixMilli()))
		require.NoError(t, err)
		return alerts
	}
	const group = "gDisk usage above 80%"

	require.NoError(t, p.Accept(t.Context(), body("Triggered", "error", t0)))
	first := openIncident(t, st, group)
	recovered := body("Recovered", "success", t0.Add(10*time.Minute))
	require.NoError(t, p.Accept(t.Context(), recovered))
	inc, err := st.Incident(t.Context(), first.ID)
	require.NoError(t, err)
	require.Equal(t, klaxon.StateResolved, inc.State)

	now = t0.Add(2 * time.Hour)
	require.NoError(t, p.Accept(t.Context(), body("Triggered", "error", t0.Add(20*time.Minute))))
	second := openIncident(t, st, group)
	require.NotEqual(t, first.ID, second.ID, "the monitor fired anew")

	// Datadog's retry of the first cycle's recovery.
	require.NoError(t, p.Accept(t.Context(), body("Recovered", "success", t0.Add(10*time.Minute))))
	g, err := st.Group(t.Context(), group, nil)
	require.NoError(t, err)
	require.NotNil(t, g.Open, "a recovery of the cycle before resolved the incident of the new one")
	require.Equal(t, second.ID, g.Open.ID)
}
