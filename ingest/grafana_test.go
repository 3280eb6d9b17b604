package ingest

import (
	"strings"
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

// cpuAlert is the decoded alert of testdata/grafana's rule "High CPU" on
// host (web-1, web-2), firing as firing.json sends it.
func cpuAlert(t *testing.T, host, fingerprint, value string) klaxon.Alert {
	const grafana = "https://grafana.example.com/"
	instance := host + ":9100"
	return klaxon.Alert{
		Key: "grafana/" + fingerprint, Integration: "grafana", Status: klaxon.Firing,
		Summary: "CPU above 90% on " + instance, Source: grafana,
		Labels: map[string]string{"alertname": "High CPU", "grafana_folder": "Infra", "instance": instance, "team": "platform"},
		Annotations: map[string]string{
			"summary":       "CPU above 90% on " + instance,
			"description":   "CPU of " + instance + " has been above 90% for 5 minutes (now " + value + "%).",
			"runbook_url":   "https://runbooks.example.com/cpu",
			"silence_url":   grafana + "alerting/silence/new?alertmanager=grafana&matcher=__alert_rule_uid__%3Dbe2x3t4qlwi68d&matcher=instance%3D" + host + "%3A9100&matcher=team%3Dplatform&orgId=1",
			"dashboard_url": grafana + "d/rYdddlPWk?from=1795903450000&orgId=1&to=1795907410000",
			"panel_url":     grafana + "d/rYdddlPWk?from=1795903450000&orgId=1&to=1795907410000&viewPanel=77",
			"values":        `{"A":` + value + `,"C":1}`,
			"value_string":  "[ var='A' labels={instance=" + instance + "} value=" + value + " ], [ var='C' labels={instance=" + instance + "} value=1 ]",
		},
		StartsAt: utc(t, "2026-11-23T22:04:10Z"),
		URL:      grafana + "alerting/grafana/be2x3t4qlwi68d/view?orgId=1",
	}
}

// resolvedAlert is a as resolved.json resolves it.
func resolvedAlert(t *testing.T, a klaxon.Alert, value string) klaxon.Alert {
	host, _, _ := strings.Cut(a.Labels["instance"], ":")
	r := cpuAlert(t, host, strings.TrimPrefix(a.Key, "grafana/"), value)
	r.Status, r.EndsAt = klaxon.Resolved, utc(t, "2026-11-23T22:19:10Z")
	r.Annotations["values"] = `{"A":` + value + `,"C":0}`
	r.Annotations["value_string"] = strings.ReplaceAll(r.Annotations["value_string"], "value=1 ]", "value=0 ]")
	return r
}

// TestDecodeGrafana: Grafana's bodies decode to the alerts their rule
// fired, keyed by Grafana's fingerprints, with Grafana's links and the
// query's values as annotations: silence_url, dashboard_url, panel_url,
// the screenshot's image_url, values and value_string.
func TestDecodeGrafana(t *testing.T) {
	web1 := cpuAlert(t, "web-1", "1f6e4e4d0b5c0a13", "93.41")
	web1.Annotations["image_url"] = "https://grafana.example.com/public/img/attachments/Xq1pVCtmqYlzRvtqN7Zf.png"
	web2 := cpuAlert(t, "web-2", "c4d1a07e5b2f9e60", "91.07")
	test := klaxon.Alert{
		Key: "grafana/57c6d9296de2ad39", Integration: "grafana", Status: klaxon.Firing,
		Summary: "Notification test", Source: "https://grafana.example.com/",
		Labels: map[string]string{"alertname": "TestAlert", "instance": "Grafana"},
		Annotations: map[string]string{
			"summary":      "Notification test",
			"silence_url":  "https://grafana.example.com/alerting/silence/new?alertmanager=grafana&matcher=alertname%3DTestAlert&matcher=instance%3DGrafana",
			"value_string": "[ metric='foo' labels={instance=bar} value=10 ]",
		},
		StartsAt: utc(t, "2026-11-23T22:30:00.123456789Z"),
	}
	tests := []struct {
		file string
		want []klaxon.Alert
		cut  int
	}{
		{"firing.json", []klaxon.Alert{web1, web2}, 0},
		{"resolved.json", []klaxon.Alert{resolvedAlert(t, web1, "42.5"), resolvedAlert(t, web2, "40.25")}, 0},
		// The contact point's maxAlerts cut the group: truncatedAlerts
		// counts those left out, which Klaxon never hears of.
		{"truncated.json", []klaxon.Alert{cpuAlert(t, "web-1", "1f6e4e4d0b5c0a13", "93.41")}, 2},
		{"test-notification.json", []klaxon.Alert{test}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got, cut, err := DecodeAlertmanagerWebhook("grafana", readTestdata(t, "grafana/"+tt.file))
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
			require.Equal(t, tt.cut, cut, "alerts left out")
		})
	}
}

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

// TestAlertsLeftOutReadLeniently: a count of alerts left out that is no
// whole number from 0 counts none, and refuses nothing: the alerts the
// body carries are taken.
func TestAlertsLeftOutReadLeniently(t *testing.T) {
	for raw, want := range map[string]int{`3`: 3, `0`: 0, `-1`: 0, `"2"`: 0, `2.5`: 0, `null`: 0, `1e2`: 0, `1000000`: 1_000_000, `1000001`: 0, `9223372036854775807`: 0} {
		body := `{"version":"4","truncatedAlerts":` + raw + `,"alerts":[{"status":"firing","labels":{"alertname":"a"}}]}`
		alerts, cut, err := DecodeAlertmanagerWebhook("am", []byte(body))
		require.NoError(t, err, raw)
		require.Len(t, alerts, 1, raw)
		require.Equal(t, want, cut, raw)
	}
}
