package klaxontest

import (
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
)

// TestMaintenanceHoldsPages: during a maintenance window, an alert it
// matches opens an incident that pages nobody; when the window closes,
// the incident, still firing, pages as if new. One that resolves in the
// window never pages.
func TestMaintenanceHoldsPages(t *testing.T) {
	h := Start(t, Config{
		Policies: []Policy{{Name: "default", Steps: []Step{{Targets: []string{"user:alice"}}}}},
		Users:    []User{{ID: "alice", Phone: "+15550100001", Notify: []Rule{SMS(0)}}},
	})
	code, out := h.Do(http.MethodPost, "/v1/maintenance", map[string]any{"matchers": []string{`service="payments"`}, "duration": "2h", "comment": "db upgrade"})
	require.Equal(t, http.StatusCreated, code, "%s", out)
	code, out = h.Do(http.MethodPost, "/v1/maintenance", map[string]any{"matchers": []string{}, "duration": "2h"})
	require.Equal(t, http.StatusBadRequest, code, "%s", out)
	require.Contains(t, string(out), "would silence everything")

	body, err := os.ReadFile("testdata/firing-two-alerts.json")
	require.NoError(t, err)
	h.Alertmanager(body) // service=payments: held
	inc := h.OpenIncident("HighErrorRate")
	require.Contains(t, timelineText(inc.Timeline), "alert_silenced")

	h.FastForward(2*time.Hour - time.Second)
	require.Empty(t, h.Twilio.Untaken(), "nothing pages in the window")
	h.FastForward(time.Second)
	h.Phone("+15550100001").ExpectSMS("5xx ratio above 5% on payments")

	// In a new window, an alert that resolves before it ends never pages.
	code, out = h.Do(http.MethodPost, "/v1/maintenance", map[string]any{"matchers": []string{`alertname="Flappy"`}, "duration": "1h"})
	require.Equal(t, http.StatusCreated, code, "%s", out)
	flappy := func(status string) []byte {
		return []byte(`{"receiver":"klaxon","status":"` + status + `","alerts":[{"status":"` + status + `","labels":{"alertname":"Flappy","service":"web"},"annotations":{"summary":"flaps"},"startsAt":"2026-11-27T00:00:00Z","fingerprint":"f1a9"}]}`)
	}
	h.Alertmanager(flappy("firing"))
	flap := h.OpenIncident("Flappy")
	h.FastForward(10 * time.Minute)
	h.Alertmanager(flappy("resolved"))
	require.Equal(t, klaxon.StateResolved, h.Incident(flap.ID).State)
	h.FastForward(time.Hour)
	require.Empty(t, h.Twilio.Untaken(), "past the window: nothing")
}

func timelineText(events []klaxon.Event) string {
	var b strings.Builder
	for _, e := range events {
		b.WriteString(string(e.Kind) + " " + e.Text + "\n")
	}
	return b.String()
}

// TestMaintenanceReleasedByAnUnheldAlert: a window holds only what it
// matches. An alert of the held incident's group that no window holds
// sends the held page at once.
func TestMaintenanceReleasedByAnUnheldAlert(t *testing.T) {
	h := Start(t, Config{
		Policies: []Policy{{Name: "default", Steps: []Step{{Targets: []string{"user:alice"}}}}},
		Users:    []User{{ID: "alice", Phone: "+15550100001", Notify: []Rule{SMS(0)}}},
	})
	code, out := h.Do(http.MethodPost, "/v1/maintenance", map[string]any{"matchers": []string{`instance="db-1"`}, "duration": "2h"})
	require.Equal(t, http.StatusCreated, code, "%s", out)
	down := func(instance string) []byte {
		return []byte(`{"receiver":"klaxon","status":"firing","alerts":[{"status":"firing","labels":{"alertname":"DBDown","service":"db","instance":"` + instance + `"},"annotations":{"summary":"db down"},"startsAt":"2026-11-27T00:00:00Z","fingerprint":"` + instance + `"}]}`)
	}
	h.Alertmanager(down("db-1"))
	h.FastForward(time.Minute)
	require.Empty(t, h.Twilio.Untaken(), "db-1 is in the window")

	h.Alertmanager(down("db-2"))
	h.FastForward(0)
	h.Phone("+15550100001").ExpectSMS("db down")
	require.Contains(t, timelineText(h.OpenIncident("DBDown").Timeline), "no maintenance window holds")
}

// TestMaintenanceEndedEarly: ending a window sends at once the pages it
// held.
func TestMaintenanceEndedEarly(t *testing.T) {
	h := Start(t, Config{
		Policies: []Policy{{Name: "default", Steps: []Step{{Targets: []string{"user:alice"}}}}},
		Users:    []User{{ID: "alice", Phone: "+15550100001", Notify: []Rule{SMS(0)}}},
	})
	code, out := h.Do(http.MethodPost, "/v1/maintenance", map[string]any{"matchers": []string{`service="payments"`}, "duration": "4h"})
	require.Equal(t, http.StatusCreated, code, "%s", out)
	var w klaxon.Maintenance
	require.NoError(t, json.Unmarshal(out, &w))
	body, err := os.ReadFile("testdata/firing-two-alerts.json")
	require.NoError(t, err)
	h.Alertmanager(body)
	h.FastForward(time.Hour)
	require.Empty(t, h.Twilio.Untaken(), "held")

	code, out = h.Do(http.MethodDelete, "/v1/maintenance/"+w.ID, nil)
	require.Equal(t, http.StatusNoContent, code, "%s", out)
	h.FastForward(0)
	h.Phone("+15550100001").ExpectSMS("5xx ratio above 5% on payments")
	require.Contains(t, timelineText(h.OpenIncident("HighErrorRate").Timeline), "ended early")
}

// TestMaintenanceEndedEarlyAnotherHolds: ending early the window that
// holds a page does not send it while another window still holds every
// alert of the incident: that window holds it on, to its own end. It
// was sent at once.
func TestMaintenanceEndedEarlyAnotherHolds(t *testing.T) {
	h := Start(t, Config{
		Policies: []Policy{{Name: "default", Steps: []Step{{Targets: []string{"user:alice"}}}}},
		Users:    []User{{ID: "alice", Phone: "+15550100001", Notify: []Rule{SMS(0)}}},
	})
	start := func(matcher, d string) klaxon.Maintenance {
		code, out := h.Do(http.MethodPost, "/v1/maintenance", map[string]any{"matchers": []string{matcher}, "duration": d})
		require.Equal(t, http.StatusCreated, code, "%s", out)
		var w klaxon.Maintenance
		require.NoError(t, json.Unmarshal(out, &w))
		return w
	}
	long := start(`service="payments"`, "4h")
	start(`alertname="HighErrorRate"`, "2h")
	body, err := os.ReadFile("testdata/firing-two-alerts.json")
	require.NoError(t, err)
	h.Alertmanager(body)
	h.FastForward(time.Hour)
	require.Empty(t, h.Twilio.Untaken(), "held")

	code, out := h.Do(http.MethodDelete, "/v1/maintenance/"+long.ID, nil)
	require.Equal(t, http.StatusNoContent, code, "%s", out)
	h.FastForward(time.Hour - time.Second)
	require.Empty(t, h.Twilio.Untaken(), "the other window holds the page to its end")
	require.Contains(t, timelineText(h.OpenIncident("HighErrorRate").Timeline), "ended early")

	h.FastForward(time.Second)
	h.Phone("+15550100001").ExpectSMS("5xx ratio above 5% on payments")
}

// TestMaintenanceFirstWindowCloses: an incident whose alerts two windows
// hold, each its own, pages when the first window closes while its
// alert still fires: that alert no window holds any more. Had that
// alert resolved meanwhile, the other window holds the page on, to its
// own end. The hold followed the alert that opened the incident alone:
// it paged at the end of that alert's window, whether the other's
// held on or had closed long before.
func TestMaintenanceFirstWindowCloses(t *testing.T) {
	h := Start(t, Config{
		Policies: []Policy{{Name: "default", Steps: []Step{{Targets: []string{"user:alice"}}}}},
		Users:    []User{{ID: "alice", Phone: "+15550100001", Notify: []Rule{SMS(0)}}},
	})
	start := func(matcher, d string) {
		code, out := h.Do(http.MethodPost, "/v1/maintenance", map[string]any{"matchers": []string{matcher}, "duration": d})
		require.Equal(t, http.StatusCreated, code, "%s", out)
	}
	alert := func(name, instance, status string) []byte {
		return []byte(`{"receiver":"klaxon","status":"` + status + `","alerts":[{"status":"` + status + `","labels":{"alertname":"` + name + `","service":"db","instance":"` + instance + `"},"annotations":{"summary":"` + name + ` on db"},"startsAt":"2026-11-27T00:00:00Z","fingerprint":"` + name + instance + `"}]}`)
	}
	start(`instance="db-1"`, "2h")
	start(`instance="db-2"`, "4h")
	start(`instance="db-3"`, "3h")
	for _, name := range []string{"DBDown", "DBSlow"} {
		h.Alertmanager(alert(name, "db-1", "firing"))
		h.Alertmanager(alert(name, "db-2", "firing"))
	}
	// Opened by db-2's alert, held 4h; db-3's joins, held 3h.
	h.Alertmanager(alert("DBHot", "db-2", "firing"))
	h.Alertmanager(alert("DBHot", "db-3", "firing"))
	// DBSlow on db-1 resolves in its window: db-2's window holds on.
	h.FastForward(time.Hour)
	h.Alertmanager(alert("DBSlow", "db-1", "resolved"))

	h.FastForward(time.Hour - time.Second)
	require.Empty(t, h.Twilio.Untaken(), "both windows hold")
	h.FastForward(time.Second)
	h.Phone("+15550100001").ExpectSMS("DBDown on db")

	h.FastForward(time.Hour - time.Second)
	require.Empty(t, h.Twilio.Untaken(), "db-3's window holds DBHot's page")
	h.FastForward(time.Second)
	h.Phone("+15550100001").ExpectSMS("DBHot on db")

	h.FastForward(time.Hour - time.Second)
	require.Empty(t, h.Twilio.Untaken(), "db-2's window holds DBSlow's page")
	h.FastForward(time.Second)
	h.Phone("+15550100001").ExpectSMS("DBSlow on db")
}
