package web_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon/internal/browsertest"
	"github.com/klaxonhq/klaxon/internal/klaxontest"
)

// TestLongSummaryKeepsTheButtonsInReach: an incident's page shows its
// buttons within reach, however long its summary. A summary is kept up
// to 16 KiB (a Datadog event's message, a stack trace in an annotation),
// and the page writes it whole as its heading, above the buttons, and
// whole again as each alert's: the Acknowledge button of such an
// incident is 21,700 px down at a phone's width (27 screens of 800 px)
// and 6,400 px at 1,280 px; live, an incident of 1,000 such alerts made
// a page 410,000 px tall at 360 px.
func TestLongSummaryKeepsTheButtonsInReach(t *testing.T) {
	h := klaxontest.Start(t, klaxontest.Config{
		Policies: []klaxontest.Policy{{Name: "default", Steps: []klaxontest.Step{{Targets: []string{"user:bob"}, EscalateAfter: 5 * time.Minute}}}},
		Users:    []klaxontest.User{{ID: "bob", Name: "Bob Li", Phone: "+15550100002", Notify: []klaxontest.Rule{klaxontest.SMS(0)}}},
	})
	summary := "disk full on db-1: " + strings.Repeat("no space left on device ", 700) // 16 KiB, as a stack trace would be
	body, err := json.Marshal(map[string]any{"version": "4", "status": "firing", "receiver": "klaxon", "groupKey": "{}:{alertname=\"DiskFull\"}",
		"alerts": []map[string]any{{"status": "firing", "labels": map[string]string{"alertname": "DiskFull", "service": "db", "severity": "critical"},
			"annotations": map[string]string{"summary": summary}, "startsAt": "2026-11-23T09:00:00Z", "fingerprint": "d1"}}})
	require.NoError(t, err)
	h.Alertmanager(body)
	h.Phone("+15550100002").ExpectSMS("disk full on db-1")
	inc := h.OpenIncident("DiskFull")
	ctx := browsertest.New(t)

	require.Equal(t, http.StatusOK, open(t, ctx, h.URL+"/incidents/"+inc.ID))
	require.NoError(t, chromedp.Do(ctx, chromedp.SendKeys(chromedp.ID("token"), klaxontest.APIToken)))
	require.Equal(t, http.StatusOK, submit(t, ctx, chromedp.CSS("form button[type=submit]")))

	tests := []struct {
		name          string
		width, height int64
	}{
		{"a phone", 360, 800},
		{"a desktop", 1280, 800},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.NoError(t, chromedp.Do(ctx, chromedp.EmulateViewport(tt.width, tt.height)))
			top, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`document.querySelector('form[action$="/ack"] button').getBoundingClientRect().top + window.scrollY`))
			require.NoError(t, err)
			require.LessOrEqual(t, top, float64(2*tt.height), "px from the top of the page to its Acknowledge button")
		})
	}
}
