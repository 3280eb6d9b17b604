package ingest_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/ingest"
	"github.com/klaxonhq/klaxon/route"
)

// TestBudgetKeepsRoutedLabels: an alert whose labels are over their
// bound in all keeps "those that route, group and describe it" first
// (README): the labels its route matches and groups by are the config's,
// not only the well-known ones. An alert of 300 labels of about 130
// bytes (Kubernetes' labels copied onto it) routed by namespace goes to
// the namespace's route, and groups by it.
func TestBudgetKeepsRoutedLabels(t *testing.T) {
	root, err := route.New(route.Spec{Policy: "default", GroupBy: []string{"alertname", "namespace"},
		Routes: []route.Spec{{Matchers: []string{`namespace="payments-production"`}, Policy: "payments"}}})
	require.NoError(t, err)
	table := route.NewTable(root, map[string]klaxon.Policy{"default": {Name: "default"}, "payments": {Name: "payments"}}, nil)

	for _, tc := range []struct {
		name   string
		labels int
	}{
		{"within the bound", 10},
		{"over the bound", 300},
	} {
		t.Run(tc.name, func(t *testing.T) {
			labels := map[string]string{"alertname": "Fat", "namespace": "payments-production"}
			for i := range tc.labels {
				labels[fmt.Sprintf("label_%03d", i)] = strings.Repeat("v", 124)
			}
			body, err := json.Marshal(map[string]any{"receiver": "klaxon", "status": "firing", "version": "4",
				"alerts": []map[string]any{{"status": "firing", "labels": labels, "annotations": map[string]string{"summary": "fat"},
					"startsAt": "2026-11-23T23:26:07Z", "fingerprint": "eaf09244f2c30009"}}})
			require.NoError(t, err)
			alerts, err := ingest.DecodeAlertmanager("prom", body)
			require.NoError(t, err)
			require.Len(t, alerts, 1)

			r := table.Match(alerts[0].Labels)
			require.Equal(t, "payments", r.Policy, "the alert's route lost the label it matches")
			require.Equal(t, "payments-production", r.GroupLabels(alerts[0].Labels)["namespace"], "the alert's group lost a label it groups by")
		})
	}
}
