package web_test

import (
	"fmt"
	"html"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/ingest"
)

// TestAlertSourceLinks: each alert's "source" link (Alertmanager's
// generatorURL, a Datadog or PagerDuty link) opens the tool that raised
// it, over http or https, as the page's Links section does. A sender's
// javascript: or data: URL must never run on click: html/template turns
// it into "#ZgotmplZ", and the alert showed a "source" link that goes
// nowhere; a relative URL ("/logout", "//elsewhere") pointed into the
// console or at another site without a scheme. Only http(s) URLs are
// links.
func TestAlertSourceLinks(t *testing.T) {
	r := newRig(t)
	id := r.Open(t, "db")
	urls := []string{"javascript:alert(1)", " JaVaScRiPt:alert(1)", "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==", "vbscript:x",
		"/logout", "//evil.example/x", "mailto:x@example.com", "https://prometheus.example/graph?g0.expr=up", "HTTP://PROMETHEUS.EXAMPLE/graph"}
	r.Update(t, id, func(inc *klaxon.Incident) {
		for i, u := range urls {
			inc.Changed = append(inc.Changed, klaxon.AlertState{Alert: klaxon.Alert{Key: fmt.Sprintf("prometheus/%d", i), Status: klaxon.Firing, Summary: "s", URL: u},
				Count: 1, FirstSeen: t0, LastSeen: t0})
		}
	})
	_, body, _ := r.signedIn(t, readToken).get("/incidents/" + id)
	require.False(t, strings.Contains(body, "ZgotmplZ"), "a link html/template refused is shown")
	_, alerts, ok := strings.Cut(body, "<h2>Alerts</h2>")
	require.True(t, ok)
	var sources []string
	for _, m := range regexp.MustCompile(`<a href="([^"]*)"[^>]*>source</a>`).FindAllStringSubmatch(alerts, -1) {
		sources = append(sources, m[1])
	}
	require.Equal(t, []string{"https://prometheus.example/graph?g0.expr=up", "HTTP://PROMETHEUS.EXAMPLE/graph"}, sources)
}

// TestGrafanaLinks: an alert of Grafana Alerting's webhook contact point
// shows Grafana's links among the incident's: its rule (the source), its
// dashboard and panel, a silence of it, its runbook, and the screenshot
// Grafana took of the panel.
func TestGrafanaLinks(t *testing.T) {
	body, err := os.ReadFile(filepath.Join("..", "ingest", "testdata", "grafana", "firing.json"))
	require.NoError(t, err)
	alerts, err := ingest.DecodeAlertmanager("grafana", body)
	require.NoError(t, err)
	r := newRig(t)
	id := r.Open(t, "High CPU")
	r.Update(t, id, func(inc *klaxon.Incident) {
		inc.Changed = append(inc.Changed, klaxon.AlertState{Alert: alerts[0], Count: 1, FirstSeen: t0, LastSeen: t0})
	})
	_, page, _ := r.signedIn(t, readToken).get("/incidents/" + id)
	_, section, ok := strings.Cut(page, "<h2>Links</h2>")
	require.True(t, ok, "no links")
	section, _, _ = strings.Cut(section, "</section>")
	links := map[string]string{}
	for _, m := range regexp.MustCompile(`<a href="([^"]*)"[^>]*>([^<]*)</a>`).FindAllStringSubmatch(section, -1) {
		links[m[2]] = html.UnescapeString(m[1])
	}
	const grafana = "https://grafana.example.com/"
	require.Equal(t, map[string]string{
		"source":    grafana + "alerting/grafana/be2x3t4qlwi68d/view?orgId=1",
		"dashboard": grafana + "d/rYdddlPWk?from=1795903450000&orgId=1&to=1795907410000",
		"panel":     grafana + "d/rYdddlPWk?from=1795903450000&orgId=1&to=1795907410000&viewPanel=77",
		"silence":   grafana + "alerting/silence/new?alertmanager=grafana&matcher=__alert_rule_uid__%3Dbe2x3t4qlwi68d&matcher=instance%3Dweb-1%3A9100&matcher=team%3Dplatform&orgId=1",
		"runbook":   "https://runbooks.example.com/cpu",
		"image":     grafana + "public/img/attachments/Xq1pVCtmqYlzRvtqN7Zf.png",
	}, links)
}
