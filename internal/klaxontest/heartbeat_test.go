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

// TestHeartbeatWaitChangedByReload: a reload that lengthens a
// heartbeat's wait starts it anew, by the new one, from the reload: the
// deadline the last ping set under the old one does not fire (it paged
// "no ping for 1h1m0s" six minutes after a ping). A shortened wait
// applies from the next deadline: a silent sender is missed at the one
// its last ping set.
func TestHeartbeatWaitChangedByReload(t *testing.T) {
	for _, tt := range []struct {
		name          string
		from, to      time.Duration // the interval, before and after the reload
		quiet, missed time.Duration // from the reload: nothing yet, then missed
	}{
		{"lengthened", 5 * time.Minute, time.Hour, 59 * time.Minute, 61 * time.Minute},
		{"shortened", time.Hour, 5 * time.Minute, 59*time.Minute + 59*time.Second, time.Hour},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := Config{
				Policies:   []Policy{{Name: "default", Steps: []Step{{Targets: []string{"user:alice"}}}}},
				Users:      []User{{ID: "alice", Phone: "+15550100001", Notify: []Rule{SMS(0)}}},
				Heartbeats: []Heartbeat{{Name: "backups", Token: "backups-token", Interval: tt.from, Grace: time.Minute}},
			}
			h := Start(t, cfg)
			code, _ := h.request(http.MethodPost, "/v1/heartbeat/backups", "backups-token", strings.NewReader(`{}`))
			require.Equal(t, http.StatusOK, code)
			h.FastForward(time.Minute)
			cfg.Heartbeats[0].Interval = tt.to
			h.Reload(cfg)
			require.Contains(t, h.Logs(), "config reloaded")

			h.FastForward(tt.quiet)
			require.Empty(t, h.openHeartbeats(), "%s after the reload", tt.quiet)
			h.FastForward(tt.missed - tt.quiet)
			h.Phone("+15550100001").ExpectSMS("Heartbeat backups missed")
		})
	}
}
