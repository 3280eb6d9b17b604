package main

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/api"
	"github.com/klaxonhq/klaxon/ingest"
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

// TestAlertmanagerLargeGroup: Alertmanager sends every alert of a group
// in one body (the example sets no max_alerts), and a storm's group holds
// thousands. Refused with a 4xx, which Alertmanager does not retry, the
// group would never reach Klaxon.
func TestAlertmanagerLargeGroup(t *testing.T) {
	base, _, _ := startServe(t, writeConfig(t, time.Hour))
	am := amtest.Start(t, base+"/v1/ingest/alertmanager", amToken)

	const n = 5000 // some 1.5 MB in one webhook
	alerts := make([]amtest.Alert, n)
	for i := range alerts {
		node := fmt.Sprintf("node-%04d", i)
		alerts[i] = amtest.Alert{
			Labels:       map[string]string{"alertname": "DiskFull", "service": "storage", "instance": node},
			Annotations:  map[string]string{"summary": "disk above 95% on " + node},
			GeneratorURL: "http://prometheus:9090/graph?g0.expr=disk_used_ratio%3E0.95",
		}
	}
	am.Post(t, alerts)
	waitWithin(t, "the group's alerts reach one incident", 30*time.Second, func() bool {
		require.Zero(t, am.Refused(t), "a webhook refused with a 4xx is lost")
		for _, inc := range listIncidents(t, base, "open") {
			if inc.Labels["alertname"] == "DiskFull" {
				return inc.AlertCount == n
			}
		}
		return false
	})
}

// TestAlertmanagerLongLabel: Prometheus and Alertmanager take a label
// value of any length (an error message, a query). Klaxon cuts it, where
// refusing it would lose every other alert of its group with it.
func TestAlertmanagerLongLabel(t *testing.T) {
	base, logs, _ := startServe(t, writeConfig(t, time.Hour))
	am := amtest.Start(t, base+"/v1/ingest/alertmanager", amToken)

	long := strings.Repeat("x", 5000)
	am.Post(t, []amtest.Alert{
		{Labels: map[string]string{"alertname": "JobFailed", "service": "batch", "instance": "worker-1", "error": long}},
		{Labels: map[string]string{"alertname": "JobFailed", "service": "batch", "instance": "worker-2"}},
	})
	var inc *klaxon.Incident
	waitFor(t, "both alerts open an incident that pages", func() bool {
		require.Zero(t, am.Refused(t), "a webhook refused with a 4xx is lost")
		for _, i := range listIncidents(t, base, "open") {
			if i.Labels["alertname"] == "JobFailed" && i.AlertCount == 2 {
				inc = i
				return len(logs.pagesFor(i.ID)) == 1
			}
		}
		return false
	})
	var cut bool
	for _, a := range getIncident(t, base, inc.ID).Alerts {
		if v, ok := a.Labels["error"]; ok {
			cut = strings.HasSuffix(v, "… [truncated]") && len(v) <= ingest.MaxLabelValue
		}
	}
	require.True(t, cut, "the long label is cut and marked")
}

// TestExampleAlertmanagerConfig checks the Alertmanager config we ship.
func TestExampleAlertmanagerConfig(t *testing.T) {
	amtool := amtest.Binary(t, "amtool")
	out, err := exec.Command(amtool, "check-config", filepath.Join("..", "..", "examples", "alertmanager.yml")).CombinedOutput()
	require.NoError(t, err, "%s", out)
	require.Contains(t, string(out), "SUCCESS")
}
