package ingest_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/ingest"
)

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
			inc := openIncident(t, st, group)
			// The recovery at t0+10m is answered 503: not committed.
			// The monitor fires again at t0+20m.
			require.NoError(t, p.Accept(t.Context(), body("Triggered", "error", t0.Add(20*time.Minute))))
			// Datadog's retry of the recovery.
			require.NoError(t, p.Accept(t.Context(), body("Recovered", "success", t0.Add(10*time.Minute))))

			g, err := st.Group(t.Context(), group, nil)
			require.NoError(t, err)
			require.NotNil(t, g.Open, "the recovery of the cycle before closed the incident of the monitor firing now")
			require.Equal(t, inc.ID, g.Open.ID)
		})
	}
}
