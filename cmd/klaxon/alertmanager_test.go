package main

import (
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/api"
	"github.com/klaxonhq/klaxon/internal/amtest"
)

// TestAlertmanager runs a real Alertmanager with Klaxon as its webhook
// receiver: an alert fired with amtool opens an incident that pages, and
// resolving it in Alertmanager resolves the incident.
func TestAlertmanager(t *testing.T) {
	base, logs, _ := startServe(t, writeConfig(t, time.Hour))
	am := amtest.Start(t, base+"/v1/ingest/alertmanager", amToken)

	labels := map[string]string{"alertname": "QueueBacklog", "service": "orders", "instance": "worker-1", "severity": "critical"}
	am.Fire(t, labels, map[string]string{"summary": "orders queue backlog above 10k"})

	var inc *api.IncidentView
	waitFor(t, "the alert opens an incident", func() bool {
		for _, i := range listIncidents(t, base, "open") {
			if i.Labels["alertname"] == "QueueBacklog" {
				inc = getIncident(t, base, i.ID)
				return true
			}
		}
		return false
	})
	require.Equal(t, map[string]string{"alertname": "QueueBacklog", "service": "orders"}, inc.Labels)
	require.Equal(t, "orders queue backlog above 10k", inc.Summary)
	require.Len(t, inc.Alerts, 1)
	require.Regexp(t, `^prometheus/[0-9a-f]{16}$`, inc.Alerts[0].Key, "keyed by Alertmanager's fingerprint")
	waitFor(t, "alice is paged", func() bool { return len(logs.pagesFor(inc.ID)) == 1 })

	am.Resolve(t, labels)
	waitFor(t, "the incident resolves with its alert", func() bool {
		return getIncident(t, base, inc.ID).State == klaxon.StateResolved
	})
	require.Len(t, logs.pagesFor(inc.ID), 1, "Alertmanager's repeated deliveries did not page again")
}

// TestExampleAlertmanagerConfig checks the Alertmanager config we ship.
func TestExampleAlertmanagerConfig(t *testing.T) {
	amtool := amtest.Binary(t, "amtool")
	out, err := exec.Command(amtool, "check-config", filepath.Join("..", "..", "examples", "alertmanager.yml")).CombinedOutput()
	require.NoError(t, err, "%s", out)
	require.Contains(t, string(out), "SUCCESS")
}
