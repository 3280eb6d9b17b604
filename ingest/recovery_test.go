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
)

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
