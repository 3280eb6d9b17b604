package klaxon_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
)

// TestLabel: an alert carries its integration's name and labels where
// its sender set none, and its severity and severity label say the same
// where one of them is missing: routes match on any source's severity,
// and an integration's severity label sets the severity (and so the
// urgency) of alerts that came with none.
func TestLabel(t *testing.T) {
	for _, tc := range []struct {
		name     string
		alert    klaxon.Alert
		extra    map[string]string
		labels   map[string]string
		severity string
	}{
		{"the integration's severity label", klaxon.Alert{Integration: "prom", Labels: map[string]string{"alertname": "Disk"}},
			map[string]string{"severity": "critical"}, map[string]string{"alertname": "Disk", "integration": "prom", "severity": "critical"}, "critical"},
		{"the sender's severity label wins", klaxon.Alert{Integration: "prom", Severity: "warning", Labels: map[string]string{"severity": "warning"}},
			map[string]string{"severity": "critical"}, map[string]string{"integration": "prom", "severity": "warning"}, "warning"},
		{"a severity with no label", klaxon.Alert{Integration: "dd", Severity: "error"},
			nil, map[string]string{"integration": "dd", "severity": "error"}, "error"},
		{"both set and different: each as the sender said", klaxon.Alert{Integration: "gen", Severity: "info", Labels: map[string]string{"severity": "page", "integration": "other"}},
			nil, map[string]string{"integration": "other", "severity": "page"}, "info"},
		{"neither", klaxon.Alert{Integration: "pd", Partial: true},
			map[string]string{"team": "db"}, map[string]string{"integration": "pd", "team": "db"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := tc.alert
			a.Label(tc.extra)
			require.Equal(t, tc.labels, a.Labels)
			require.Equal(t, tc.severity, a.Severity)
		})
	}
}
