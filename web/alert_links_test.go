package web_test

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
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
