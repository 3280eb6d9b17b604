package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon/api"
)

// onCallAt asks the server who is on call in primary on 2026-11-24.
func onCallAt(t *testing.T, base string) []string {
	t.Helper()
	var oc api.OnCall
	getJSON(t, base+"/v1/schedules/primary/oncall?at=2026-11-24T17:00:00Z", &oc)
	return oc.Users
}

// rewrite replaces old with new in a file, as an editor would.
func rewrite(t testing.TB, path, old, new string) {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Contains(t, string(b), old)
	require.NoError(t, os.WriteFile(path, []byte(strings.Replace(string(b), old, new, 1)), 0o644))
}

func TestReloadOnFileChange(t *testing.T) {
	config := writeScheduleConfig(t, time.Hour)
	schedule := filepath.Join(filepath.Dir(config), "schedules", "primary.yaml")
	base, logs, _ := startServe(t, config)
	require.Equal(t, []string{"alice"}, onCallAt(t, base))

	rewrite(t, schedule, "members: [alice, bob]", "members: [bob, alice]")
	waitFor(t, "the schedule change is live", func() bool { return slicesEqual(onCallAt(t, base), []string{"bob"}) })
	// The reload is logged after the swap.
	waitFor(t, "the reload is logged", func() bool {
		return strings.Contains(logs.String(), `msg="config reloaded" component=config why="file changed"`)
	})

	// A broken file is refused: the running config stays, and says why.
	rewrite(t, schedule, "members: [bob, alice]", "members: [bob, alice]\nmembrs: [x]")
	waitFor(t, "the refusal is logged", func() bool { return strings.Contains(logs.String(), "reload refused") })
	require.Contains(t, logs.String(), "membrs: unknown key")
	require.Equal(t, []string{"bob"}, onCallAt(t, base))
	postFixture(t, base, "firing-one-alert.json") // and still takes alerts
}

func TestReloadOnSIGHUP(t *testing.T) {
	bin := buildKlaxon(t)
	config := writeScheduleConfig(t, time.Hour)
	p := startBinary(t, bin, config, "--watch=false")
	require.Equal(t, []string{"alice"}, onCallAt(t, p.base))

	rewrite(t, filepath.Join(filepath.Dir(config), "schedules", "primary.yaml"), "members: [alice, bob]", "members: [bob, alice]")
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGHUP))
	waitFor(t, "SIGHUP reloads", func() bool { return slicesEqual(onCallAt(t, p.base), []string{"bob"}) })
	// The log line reaches the test through a pipe, maybe after the swap.
	waitFor(t, "the reload is logged", func() bool { return strings.Contains(p.logs.String(), `why=SIGHUP`) })
}

func slicesEqual(a, b []string) bool { return strings.Join(a, ",") == strings.Join(b, ",") }

// TestServeLogsConfigWarnings: serve logs what klaxon check warns of, as
// it starts and again after each reload, so that a server started
// without check says it too.
func TestServeLogsConfigWarnings(t *testing.T) {
	config := writeConfig(t, time.Hour)
	_, logs, _ := startServe(t, config)
	sms := `msg="config warning" component=config warning="` + filepath.Join(filepath.Dir(config), "users.yaml") +
		`: users[0].notify[0].via: sms: not configured (notify.twilio)`
	require.Equal(t, 1, strings.Count(logs.log.String(), sms), logs.log.String())

	rewrite(t, filepath.Join(filepath.Dir(config), "policies", "oncall.yaml"), "escalate_after: 1h0m0s", "escalate_after: 2h0m0s")
	waitFor(t, "the reload logs the warnings again", func() bool { return strings.Count(logs.log.String(), sms) == 2 })
}
