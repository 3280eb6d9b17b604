package ingest

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
)

// The bodies in testdata/grafana are what Grafana Alerting's webhook
// contact point sends (grafana/alerting, receivers/webhook/v1: its
// webhookMessage, templates.ExtendedData and ExtendedAlert): version "1",
// orgId, title, state ("alerting" or "ok"), message, and per alert
// Alertmanager's fields with silenceURL, dashboardURL, panelURL, values,
// valueString, ruleUID, orgId and, with screenshots on, imageURL.

// TestDecodeGrafanaDatasourceAlerts: a rule whose query returns nothing,
// or fails, fires Grafana's DatasourceNoData or DatasourceError alert,
// with the rule's labels and annotations, its name in rulename and the
// query's error in the annotation Error. The rule's summary, templated
// without values ("CPU above 90% on "), says the condition holds, which
// is not what happened: the alert's summary says which of the two
// happened, to which rule, and the error.
func TestDecodeGrafanaDatasourceAlerts(t *testing.T) {
	tests := []struct {
		file, key, summary string
	}{
		{"nodata.json", "grafana/8a3c5f0e2d7b1946", "DatasourceNoData: High CPU"},
		{"error.json", "grafana/5be0d3a91c6f2e87", `DatasourceError: High CPU: [sse.dataQueryError] failed to execute query [A]: Post "http://prometheus:9090/api/v1/query_range": dial tcp 10.0.0.5:9090: connect: connection refused`},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got, err := DecodeAlertmanager("grafana", readTestdata(t, "grafana/"+tt.file))
			require.NoError(t, err)
			require.Len(t, got, 1)
			a := got[0]
			require.Equal(t, tt.key, a.Key)
			require.Equal(t, klaxon.Firing, a.Status)
			require.Equal(t, tt.summary, a.Summary)
			require.Equal(t, "High CPU", a.Labels["rulename"])
			require.Equal(t, "CPU above 90% on ", a.Annotations["summary"], "the rule's own summary stays among the annotations")
		})
	}

	t.Run("without rulename or from another sender, the summary is the alert's", func(t *testing.T) {
		got, err := DecodeAlertmanager("prom", []byte(`{"version":"4","alerts":[
			{"status":"firing","labels":{"alertname":"DatasourceError"},"annotations":{"summary":"ours"}},
			{"status":"firing","labels":{"alertname":"DatasourceNoData","service":"db"}}]}`))
		require.NoError(t, err)
		require.Equal(t, "ours", got[0].Summary)
		require.Equal(t, "DatasourceNoData", got[1].Summary)
	})

	t.Run("through an Alertmanager, which keeps Grafana's labels", func(t *testing.T) {
		got, err := DecodeAlertmanager("prom", []byte(`{"version":"4","alerts":[
			{"status":"firing","labels":{"alertname":"DatasourceNoData","rulename":"Disk"},"annotations":{"summary":"disk full"}}]}`))
		require.NoError(t, err)
		require.Equal(t, "DatasourceNoData: Disk", got[0].Summary)
	})
}
