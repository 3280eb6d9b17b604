package klaxon_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
)

// TestLabel: an alert carries its integration's name and labels where
// its sender set none; an integration's severity label sets the severity
// (and so the urgency) of alerts that came with none, and is not laid
// over a severity the sender gave.
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
		{"the sender's severity, without a label, wins too", klaxon.Alert{Integration: "dd", Severity: "warning"},
			map[string]string{"severity": "critical", "team": "db"}, map[string]string{"integration": "dd", "team": "db"}, "warning"},
		{"a severity with no label adds none: an event without labels stays a group of its own", klaxon.Alert{Integration: "gen", Severity: "error"},
			nil, map[string]string{"integration": "gen"}, "error"},
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
