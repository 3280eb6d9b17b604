package main

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/app"
	"github.com/klaxonhq/klaxon/internal/redistest"
	"github.com/klaxonhq/klaxon/internal/syncbuf"
)

// useRedis points a test config at a Redis server instead of a file.
func useRedis(t testing.TB, config, addr string) {
	t.Helper()
	b, err := os.ReadFile(config)
	require.NoError(t, err)
	out := strings.Replace(string(b), "store: {path: data/klaxon.db}", "store: {redis: {addrs: ["+addr+"]}}", 1)
	require.NotEqual(t, string(b), out)
	require.NoError(t, os.WriteFile(config, []byte(out), 0o644))
}

// TestServeOnRedis runs the whole path on the Redis store: an alert opens
// an incident that pages, an acknowledgement stops it, and a restart finds
// it all again.
func TestServeOnRedis(t *testing.T) {
	redis := redistest.Start(t, "--appendonly", "yes")
	config := writeConfig(t, time.Hour)
	useRedis(t, config, redis.Addr())

	base, logs, stop := startServe(t, config)
	require.Contains(t, logs.String(), "store=redis://"+redis.Addr())
	require.NotContains(t, logs.String(), "keeps no AOF")
	postFixture(t, base, "firing-two-alerts.json")
	postFixture(t, base, "firing-two-alerts.json")
	inc := findIncident(t, base, "HighErrorRate")
	require.Len(t, inc.Alerts, 2)
	waitFor(t, "alice is paged", func() bool { return len(logs.pagesFor(inc.ID)) == 1 })
	code, out := post(t, base+"/v1/incidents/"+inc.ID+"/ack", apiToken, "application/json", nil)
	require.Equal(t, 200, code, out)
	stop()

	base, _, _ = startServe(t, config)
	again := getIncident(t, base, inc.ID)
	require.Equal(t, klaxon.StateAcknowledged, again.State)
	require.Len(t, again.Alerts, 2)
}

func TestRedisWithoutPersistenceWarns(t *testing.T) {
	redis := redistest.Start(t) // --save "" --appendonly no
	config := writeConfig(t, time.Hour)
	useRedis(t, config, redis.Addr())
	_, logs, _ := startServe(t, config)
	require.Contains(t, logs.String(), "Redis keeps no AOF and no RDB snapshots")
}

// TestReadyzOnRedisThatCannotWrite: a Redis that answers but refuses
// writes (here it wants a replica it does not have) makes /readyz 503;
// once it writes again, ready. /readyz answers from a probe up to a
// second old, so each change shows within a second or so.
func TestReadyzOnRedisThatCannotWrite(t *testing.T) {
	redis := redistest.Start(t)
	config := writeConfig(t, time.Hour)
	useRedis(t, config, redis.Addr())
	base, _, _ := startServe(t, config)
	require.Equal(t, http.StatusOK, readyz(base))

	_, err := redistest.Do(redis.Addr(), "CONFIG", "SET", "min-replicas-to-write", "1")
	require.NoError(t, err)
	waitFor(t, "/readyz fails", func() bool { return readyz(base) == http.StatusServiceUnavailable })
	// A webhook the master will not write (NOREPLICAS) is a 503, which
	// the sender retries, not a 500 nor an answer of accepted.
	body, err := os.ReadFile(filepath.Join("testdata", "firing-one-alert.json"))
	require.NoError(t, err)
	code, out := post(t, base+"/v1/ingest/alertmanager", amToken, "application/json", body)
	require.Equal(t, http.StatusServiceUnavailable, code, "%v", out)
	require.Empty(t, listIncidents(t, base, "all"))

	_, err = redistest.Do(redis.Addr(), "CONFIG", "SET", "min-replicas-to-write", "0")
	require.NoError(t, err)
	waitFor(t, "/readyz is ready again", func() bool { return readyz(base) == http.StatusOK })
	postFixture(t, base, "firing-one-alert.json") // the sender's retry
	require.Len(t, listIncidents(t, base, "all"), 1)
}

// TestServeWaitsForRedis: a server started while Redis is down (a host's
// reboot, both started at once) waits for it, and says so, rather than
// exit and be started again only when its supervisor's backoff allows.
func TestServeWaitsForRedis(t *testing.T) {
	redis := redistest.Start(t, "--appendonly", "yes")
	redis.Stop(t)
	config := writeConfig(t, time.Hour)
	useRedis(t, config, redis.Addr())
	o, _, err := serveOptions([]string{"--config", config}, io.Discard)
	require.NoError(t, err)
	logs := &syncbuf.Buffer{}
	o.Log = slog.New(slog.NewTextHandler(logs, nil))
	started := make(chan error, 1)
	go func() {
		a, err := app.New(t.Context(), o)
		if err == nil {
			err = a.Close()
		}
		started <- err
	}()
	waitFor(t, "it says it waits", func() bool { return strings.Contains(logs.String(), "Redis cannot be reached or serve yet") })
	require.Empty(t, started, "it waits")
	redis.Restart(t)
	require.NoError(t, <-started, "it starts once Redis does")
}

// TestServeStoppedWhileWaitingForRedis: SIGTERM while serve waits for
// Redis at start stops it cleanly (status 0), as once it runs; a SIGHUP
// before it does not kill it.
func TestServeStoppedWhileWaitingForRedis(t *testing.T) {
	p, _ := waitingForRedis(t, writeConfig(t, time.Hour))
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGHUP)) // a reload asked meanwhile: no stop
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
	require.NoError(t, <-p.done, "a clean stop:\n%s", p.logs)
	require.Contains(t, p.logs.String(), "stopped before it started")
}

// TestServeReloadsWhatChangedWhileWaitingForRedis: the schedule is mended
// while serve waits for Redis at start, with a reload asked (SIGHUP) or
// not (the files are watched). Once Redis is up, serve serves the
// schedule as the files say: the config was read before the wait, and
// the file watch starts only after it.
func TestServeReloadsWhatChangedWhileWaitingForRedis(t *testing.T) {
	for _, hup := range []bool{false, true} {
		t.Run(fmt.Sprintf("SIGHUP %v", hup), func(t *testing.T) {
			config := writeScheduleConfig(t, time.Hour)
			p, redis := waitingForRedis(t, config)
			rewrite(t, filepath.Join(filepath.Dir(config), "schedules", "primary.yaml"), "members: [alice, bob]", "members: [bob, alice]")
			if hup {
				require.NoError(t, p.cmd.Process.Signal(syscall.SIGHUP))
			}
			redis.Restart(t)
			p.listening(t, 30*time.Second)
			require.Equal(t, []string{"bob"}, onCallAt(t, p.base), "the schedule as mended while serve waited")
		})
	}
}

// waitingForRedis runs the binary with config on a Redis that is down,
// until it says it waits for it; Restart starts that Redis.
func waitingForRedis(t *testing.T, config string) (*proc, *redistest.Server) {
	t.Helper()
	redis := redistest.Start(t)
	redis.Stop(t)
	useRedis(t, config, redis.Addr())
	p := runBinary(t, buildKlaxon(t), config)
	waitFor(t, "it waits for Redis", func() bool { return strings.Contains(p.logs.String(), "Redis cannot be reached or serve yet") })
	return p, redis
}
