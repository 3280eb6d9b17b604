package klaxontest

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/ingest"
)

// TestHeartbeat: a heartbeat pinged every 5 minutes, with a minute's
// grace, pages nobody while pings come; six minutes without one page
// the policy's first step, across a restart; the next ping resolves the
// incident.
func TestHeartbeat(t *testing.T) {
	h := Start(t, Config{
		Policies:   []Policy{{Name: "default", Steps: []Step{{Targets: []string{"user:alice"}}}}},
		Users:      []User{{ID: "alice", Phone: "+15550100001", Notify: []Rule{SMS(0)}}},
		Heartbeats: []Heartbeat{{Name: "backups", Token: "backups-token", Interval: 5 * time.Minute, Grace: time.Minute}},
	})
	ping := func(token string) int {
		code, _ := h.request(http.MethodPost, "/v1/heartbeat/backups", token, strings.NewReader(`{"status": "firing"}`))
		return code
	}
	require.Equal(t, http.StatusUnauthorized, ping("wrong"))
	require.Equal(t, http.StatusUnauthorized, ping(AlertmanagerToken), "another integration's token")
	require.Equal(t, http.StatusOK, ping("backups-token"))

	// Pings keep it quiet, each moving the deadline.
	for range 3 {
		h.FastForward(5*time.Minute + 59*time.Second)
		require.Equal(t, http.StatusOK, ping("backups-token"))
	}
	h.FastForward(5*time.Minute + 59*time.Second) // a second before the deadline: nothing
	require.Empty(t, h.openHeartbeats())

	// The deadline outlives a restart.
	h.Stop()
	h.Restart()
	h.FastForward(time.Second)
	h.Phone("+15550100001").ExpectSMS("Heartbeat backups missed")
	open := h.openHeartbeats()
	require.Len(t, open, 1)

	h.FastForward(time.Hour) // still missing: the one incident, no second page
	require.Len(t, h.openHeartbeats(), 1)
	require.Empty(t, h.Twilio.Untaken(), "no second page")

	require.Equal(t, http.StatusOK, ping("backups-token"))
	inc := h.Incident(open[0].ID)
	require.Equal(t, klaxon.StateResolved, inc.State)
	require.Empty(t, h.openHeartbeats())
}

// openHeartbeats lists the open incidents of missed heartbeats.
func (h *Harness) openHeartbeats() []*klaxon.Incident {
	h.t.Helper()
	var out []*klaxon.Incident
	for _, inc := range h.openIncidents() {
		if inc.Labels["alertname"] == ingest.HeartbeatAlertname {
			out = append(out, inc)
		}
	}
	return out
}

// TestHeartbeatAddedByReload: a heartbeat that a reload adds is missed
// an interval and a grace later when its sender never pings, as one in
// the config at the start is. It was armed only at the next start, or
// by a first ping.
func TestHeartbeatAddedByReload(t *testing.T) {
	cfg := Config{
		Policies: []Policy{{Name: "default", Steps: []Step{{Targets: []string{"user:alice"}}}}},
		Users:    []User{{ID: "alice", Phone: "+15550100001", Notify: []Rule{SMS(0)}}},
	}
	h := Start(t, cfg)
	cfg.Heartbeats = []Heartbeat{{Name: "backups", Token: "backups-token", Interval: 5 * time.Minute, Grace: time.Minute}}
	h.Reload(cfg)
	require.Contains(t, h.Logs(), "config reloaded")

	h.FastForward(6*time.Minute - time.Second)
	require.Empty(t, h.openHeartbeats())
	h.FastForward(time.Second)
	h.Phone("+15550100001").ExpectSMS("Heartbeat backups missed")
}
