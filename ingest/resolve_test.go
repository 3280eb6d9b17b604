package ingest_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/incident"
	"github.com/klaxonhq/klaxon/ingest"
	"github.com/klaxonhq/klaxon/route"
)

// criticalTable: the integration "gen" labels its alerts severity=critical
// (integrations[].labels), and critical alerts have a route of their own.
func criticalTable(t *testing.T) *route.Table {
	root, err := route.New(route.Spec{Policy: "default", GroupBy: []string{"alertname"},
		Routes: []route.Spec{{Matchers: []string{`severity="critical"`}, Policy: "crit"}}})
	require.NoError(t, err)
	return route.NewTable(root, map[string]klaxon.Policy{"default": {Name: "default"}, "crit": {Name: "crit"}},
		map[string]map[string]string{"gen": {klaxon.LabelSeverity: "critical"}})
}

// TestResolveRoutesWithItsFiringAlert: a body that fires an alert and
// resolves it (by dedup_key, no severity), under an integration that
// labels severity=critical, where critical alerts have a route of their
// own: the resolve goes to the group of the alert it resolves. When the
// firing report states its own severity it keeps the integration's label
// off and the resolve, stating none, takes it: their labels route apart,
// and the resolve goes to the group of the firing report before it.
func TestResolveRoutesWithItsFiringAlert(t *testing.T) {
	for name, severity := range map[string]string{"the integration's severity": "", "its own severity": `"severity": "critical", `} {
		t.Run(name, func(t *testing.T) {
			st := openEmbedded(t)
			table := criticalTable(t)
			p := ingest.NewPipeline(st, func() ingest.Router { return table }, nil, func() time.Time { return t0 })
			alerts, err := ingest.DecodeGeneric("gen", []byte(`{"alerts": [
				{"dedup_key": "db-1/disk", "summary": "disk full", `+severity+`"labels": {"alertname": "disk"}},
				{"dedup_key": "db-1/disk", "status": "resolved", "labels": {"alertname": "disk"}}]}`))
			require.NoError(t, err)
			fired := alerts[0]
			fired.Label(table.Labels("gen"))
			group, err := table.Group(&fired)
			require.NoError(t, err)
			require.NoError(t, p.Accept(t.Context(), alerts))

			g, err := st.Group(t.Context(), group, nil)
			require.NoError(t, err)
			require.Nil(t, g.Open, "the alert fired and resolved: no incident is left open in %s", group)
		})
	}
}

// A resolve, with its labels and no severity, of an alert that fired
// under the integration's severity label: the alert's record keeps its labels.
func TestResolveKeepsTheSeverityLabel(t *testing.T) {
	st := openEmbedded(t)
	table := criticalTable(t)
	now := t0
	p := ingest.NewPipeline(st, func() ingest.Router { return table }, nil, func() time.Time { return now })
	fired, err := ingest.DecodeGeneric("gen", []byte(`{"dedup_key": "db-1/disk", "summary": "disk full", "labels": {"alertname": "disk"}}`))
	require.NoError(t, err)
	require.NoError(t, p.Accept(t.Context(), fired))
	group, err := table.Group(&fired[0])
	require.NoError(t, err)
	g, err := st.Group(t.Context(), group, nil)
	require.NoError(t, err)
	require.NotNil(t, g.Open)
	id := g.Open.ID

	now = t0.Add(time.Minute)
	resolved, err := ingest.DecodeGeneric("gen", []byte(`{"dedup_key": "db-1/disk", "status": "resolved", "labels": {"alertname": "disk"}}`))
	require.NoError(t, err)
	require.NoError(t, p.Accept(t.Context(), resolved))
	alerts, _, err := st.IncidentAlerts(t.Context(), id, "", 10)
	require.NoError(t, err)
	require.Len(t, alerts, 1)
	require.Equal(t, klaxon.Resolved, alerts[0].Status)
	require.Equal(t, "critical", alerts[0].Severity)
	require.Equal(t, "critical", alerts[0].Labels[klaxon.LabelSeverity], "the record's labels: %v", alerts[0].Labels)
}

// severityLabelled routes like oneGroup, and its integrations add the
// label severity=warning to their alerts (integrations[].labels).
type severityLabelled struct{ oneGroup }

func (severityLabelled) Labels(string) map[string]string {
	return map[string]string{klaxon.LabelSeverity: "warning"}
}

func (severityLabelled) Route(a *klaxon.Alert) (incident.Template, error) {
	return oneGroup{}.Route(a)
}

// TestDatadogRecoveryKeepsItsSeverity: a Datadog alert that fired
// critical (alert_type error) recovers, through the pipeline and a store,
// under an integration that adds severity=warning to alerts that say
// none. The recovery says none (its alert_type is success), and the
// alert keeps critical: neither success's info nor the integration's.
func TestDatadogRecoveryKeepsItsSeverity(t *testing.T) {
	st := openEmbedded(t)
	now := t0
	p := ingest.NewPipeline(st, func() ingest.Router { return severityLabelled{} }, nil, func() time.Time { return now })
	fired, err := ingest.DecodeDatadog("dd", ddBody(t, "triggered.json"))
	require.NoError(t, err)
	require.Equal(t, "critical", fired[0].Severity)
	require.NoError(t, p.Accept(t.Context(), fired))
	group, err := (severityLabelled{}).Group(&fired[0])
	require.NoError(t, err)
	g, err := st.Group(t.Context(), group, nil)
	require.NoError(t, err)
	id := g.Open.ID

	now = t0.Add(time.Minute)
	recovered, err := ingest.DecodeDatadog("dd", ddBody(t, "recovered.json"))
	require.NoError(t, err)
	require.NoError(t, p.Accept(t.Context(), recovered))

	alerts, _, err := st.IncidentAlerts(t.Context(), id, "", 10)
	require.NoError(t, err)
	require.Len(t, alerts, 1)
	require.Equal(t, klaxon.Resolved, alerts[0].Status)
	require.Equal(t, "critical", alerts[0].Severity, "the recovery keeps the severity the alert fired with")
}

func ddBody(t *testing.T, name string) []byte {
	b, err := os.ReadFile(filepath.Join("testdata", "datadog", name))
	require.NoError(t, err)
	return b
}
