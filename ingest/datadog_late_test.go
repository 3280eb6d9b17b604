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

	require.NoError(t, p.Accept(t.Context(), diskOfDB1(t, "Triggered", "error", t0)))
	first := openIncident(t, st, diskGroup)
	recovered := diskOfDB1(t, "Recovered", "success", t0.Add(10*time.Minute))
	require.NoError(t, p.Accept(t.Context(), recovered))
	inc, err := st.Incident(t.Context(), first.ID)
	require.NoError(t, err)
	require.Equal(t, klaxon.StateResolved, inc.State)

	now = t0.Add(2 * time.Hour)
	require.NoError(t, p.Accept(t.Context(), diskOfDB1(t, "Triggered", "error", t0.Add(20*time.Minute))))
	second := openIncident(t, st, diskGroup)
	require.NotEqual(t, first.ID, second.ID, "the monitor fired anew")

	// Datadog's retry of the first cycle's recovery.
	require.NoError(t, p.Accept(t.Context(), diskOfDB1(t, "Recovered", "success", t0.Add(10*time.Minute))))
	g, err := st.Group(t.Context(), diskGroup, nil)
	require.NoError(t, err)
	require.NotNil(t, g.Open, "a recovery of the cycle before resolved the incident of the new one")
	require.Equal(t, second.ID, g.Open.ID)
}

// TestDatadogRecoveryRetriedAfterNextCycle: a monitor keyed by monitor
// and scope (no $ALERT_CYCLE_KEY) fires; its recovery is answered 503
// (the store was briefly unavailable), so Datadog retries it later; the
// monitor fires anew meanwhile, and that Triggered lands first. The
// recovery's retry ended before the new cycle began: it must not
// resolve the alert that fires in the new cycle, nor close the
// incident whose page is due.
func TestDatadogRecoveryRetriedAfterNextCycle(t *testing.T) {
	for name, open := range stores {
		t.Run(name, func(t *testing.T) {
			st := open(t)
			now := t0.Add(time.Hour)
			p := ingest.NewPipeline(st, func() ingest.Router { return oneGroup{} }, nil, func() time.Time { return now })

			require.NoError(t, p.Accept(t.Context(), diskOfDB1(t, "Triggered", "error", t0)))
			inc := openIncident(t, st, diskGroup)
			// The recovery at t0+10m is answered 503: not committed.
			// The monitor fires again at t0+20m.
			require.NoError(t, p.Accept(t.Context(), diskOfDB1(t, "Triggered", "error", t0.Add(20*time.Minute))))
			// Datadog's retry of the recovery.
			require.NoError(t, p.Accept(t.Context(), diskOfDB1(t, "Recovered", "success", t0.Add(10*time.Minute))))

			g, err := st.Group(t.Context(), diskGroup, nil)
			require.NoError(t, err)
			require.NotNil(t, g.Open, "the recovery of the cycle before closed the incident of the monitor firing now")
			require.Equal(t, inc.ID, g.Open.ID)
		})
	}
}

// diskGroup is the group of diskOfDB1's alerts under oneGroup.
const diskGroup = "gDisk usage above 80%"

// diskOfDB1 decodes the Datadog notification of a disk monitor on db-1,
// keyed by monitor and scope (no $ALERT_CYCLE_KEY), of transition at at.
func diskOfDB1(t *testing.T, transition, alertType string, at time.Time) []klaxon.Alert {
	t.Helper()
	alerts, err := ingest.DecodeDatadog("datadog", fmt.Appendf(nil, `{"id": "1", "alert_id": "145209001", "alert_cycle_key": "",
		"transition": %q, "alert_type": %q, "priority": "P2", "title": "[%s on {host:db-1}] Disk usage above 80%%",
		"scope": "host:db-1", "tags": "env:prod,host:db-1,service:postgres", "hostname": "db-1", "date": "%d", "org": {"id": "123456"}}`,
		transition, alertType, transition, at.UnixMilli()))
	require.NoError(t, err)
	return alerts
}
