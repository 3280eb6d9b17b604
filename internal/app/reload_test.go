package app

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon/config"
	"github.com/klaxonhq/klaxon/internal/syncbuf"
)

// writeConfig writes a config with a policy, two users and a schedule
// into a new folder and returns the path of its klaxon.yaml.
func writeConfig(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range map[string]string{
		"klaxon.yaml": `listen: 127.0.0.1:0
store: {path: data/klaxon.db}
route: {policy: oncall}
policies: policies/
users: users.yaml
schedules: schedules/
notify:
  console: {}
`,
		"policies/oncall.yaml": "name: oncall\nsteps:\n  - targets: [schedule:primary]\n",
		"users.yaml":           "users:\n  - {id: alice}\n  - {id: bob}\n",
		"schedules/primary.yaml": `name: primary
time_zone: America/New_York
layers:
  - name: weekly
    rotation: {every: 1w, handoff: "2026-01-05T09:00"}
    members: [alice, bob]
`,
	} {
		p := filepath.Join(dir, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(body), 0o644))
	}
	return filepath.Join(dir, "klaxon.yaml")
}

// rewrite replaces old with new in a file, as an editor would.
func rewrite(t testing.TB, path, old, new string) {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Contains(t, string(b), old)
	require.NoError(t, os.WriteFile(path, []byte(strings.Replace(string(b), old, new, 1)), 0o644))
}

// TestReloaderWithoutWatch: with --watch=false nothing watches the config's
// files, so only SIGHUP reloads.
func TestReloaderWithoutWatch(t *testing.T) {
	cfg, err := config.Load(writeConfig(t), nil)
	require.NoError(t, err)
	rt := newRuntime(cfg, nil)
	for _, watch := range []bool{false, true} {
		r := newReloader("", nil, rt, slog.New(slog.DiscardHandler), watch)
		require.Equal(t, watch, r.w != nil, "watch=%v", watch)
		r.Close()
	}
}

// TestReloadRefusesWhatOnlyARestartApplies: a reload that changes notify,
// the store, public_url or trusted_proxies is refused whole, and says
// which; the same files reload, and so does a change elsewhere.
func TestReloadRefusesWhatOnlyARestartApplies(t *testing.T) {
	path := writeConfig(t)
	cfg, err := config.Load(path, nil)
	require.NoError(t, err)
	rt := newRuntime(cfg, nil)
	r := &reloader{path: path, rt: rt}
	logs := &syncbuf.Buffer{}
	fresh := func() { logs = &syncbuf.Buffer{}; r.log = slog.New(slog.NewTextHandler(logs, nil)) }
	fresh()

	r.reload(t.Context(), "test")
	require.NotSame(t, cfg, rt.cfg.Load(), "the same files reload")
	require.NotContains(t, logs.String(), "reload refused")

	for _, tc := range []struct{ section, old, new string }{
		{"notify", "  console: {}\n", "  console: {}\n  concurrency: 4\n"},
		{"store", "store: {path: data/klaxon.db}", "store: {path: data/other.db}"},
		{"public_url", "store: {path: data/klaxon.db}", "store: {path: data/klaxon.db}\npublic_url: https://klaxon.example.com"},
		{"trusted_proxies", "store: {path: data/klaxon.db}", "store: {path: data/klaxon.db}\ntrusted_proxies: [10.0.0.0/8]"},
	} {
		t.Run(tc.section, func(t *testing.T) {
			fresh()
			running := rt.cfg.Load()
			rewrite(t, path, tc.old, tc.new)
			r.reload(t.Context(), "test")
			require.Same(t, running, rt.cfg.Load(), "the running config stays")
			require.Contains(t, logs.String(), tc.section+" changed: ")
			rewrite(t, path, tc.new, tc.old)
		})
	}

	fresh()
	running := rt.cfg.Load()
	rewrite(t, filepath.Join(filepath.Dir(path), "schedules", "primary.yaml"), "members: [alice, bob]", "members: [bob, alice]")
	r.reload(t.Context(), "test")
	require.NotSame(t, running, rt.cfg.Load(), "a change elsewhere reloads")
	require.NotContains(t, logs.String(), "reload refused")
}

// TestReloadedActTriedAgain: what acts on a reloaded config (arming the
// heartbeats it adds) and fails, the store not answering, is tried again
// until it does not; a reload that changes nothing more does not wait
// for it.
func TestReloadedActTriedAgain(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		path := writeConfig(t)
		cfg, err := config.Load(path, nil)
		require.NoError(t, err)
		r := &reloader{path: path, rt: newRuntime(cfg, nil), log: slog.New(slog.DiscardHandler), hup: make(chan os.Signal, 1)}
		var tries []time.Time
		r.reloaded = func(context.Context) error {
			tries = append(tries, time.Now())
			if len(tries) < 3 {
				return errors.New("arm heartbeat backups: redis unavailable: connection refused")
			}
			return nil
		}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() { done <- r.Run(ctx) }()
		start := time.Now()
		r.hup <- syscall.SIGHUP
		time.Sleep(time.Minute)
		synctest.Wait()
		cancel()
		require.NoError(t, <-done)
		require.Len(t, tries, 3, "tried until it did not fail, then no more")
		require.Equal(t, []time.Duration{0, reloadedRetry, 2 * reloadedRetry}, []time.Duration{tries[0].Sub(start), tries[1].Sub(start), tries[2].Sub(start)})
	})
}

// failingOnce is a reloader on the config at path whose act (arming a
// heartbeat) fails its first try; tries counts them.
func failingOnce(t *testing.T, path string, tries *int) *reloader {
	cfg, err := config.Load(path, nil)
	require.NoError(t, err)
	r := &reloader{path: path, rt: newRuntime(cfg, nil), log: slog.New(slog.DiscardHandler), hup: make(chan os.Signal, 1), wake: make(chan struct{}, 1)}
	r.reloaded = func(context.Context) error {
		if *tries++; *tries == 1 {
			return errors.New("arm heartbeat backups: redis unavailable: connection refused")
		}
		return nil
	}
	return r
}

// runFor runs r for a minute of the bubble's time.
func runFor(t *testing.T, r *reloader, meanwhile func()) {
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error)
	go func() { done <- r.Run(ctx) }()
	synctest.Wait()
	meanwhile()
	time.Sleep(time.Minute)
	synctest.Wait()
	cancel()
	require.NoError(t, <-done)
}

// TestReloadedActOwed: an act on a reloaded config that fails is tried
// again by Run wherever it ran: as the server was built (it waited for
// its store), even when a reload asked before Run is refused; in Run,
// even when a later SIGHUP's reload is refused; by App.Reload while Run
// runs.
func TestReloadedActOwed(t *testing.T) {
	refuse := func(t *testing.T, path string) {
		rewrite(t, path, "store: {path: data/klaxon.db}", "store: {path: data/other.db}") // only a restart applies it
	}
	t.Run("before Run, a refused reload after it", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			path, tries := writeConfig(t), 0
			r := failingOnce(t, path, &tries)
			r.apply(t.Context(), "waited for the store")
			refuse(t, path)
			(&App{reload: r}).Reload(t.Context())
			runFor(t, r, func() {})
			require.Equal(t, 2, tries, "tried again by Run, then no more")
		})
	})
	t.Run("in Run, a refused SIGHUP after it", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			path, tries := writeConfig(t), 0
			r := failingOnce(t, path, &tries)
			runFor(t, r, func() {
				r.hup <- syscall.SIGHUP
				synctest.Wait()
				refuse(t, path)
				r.hup <- syscall.SIGHUP
			})
			require.Equal(t, 2, tries)
		})
	})
	t.Run("App.Reload while Run runs", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			path, tries := writeConfig(t), 0
			r := failingOnce(t, path, &tries)
			runFor(t, r, func() { (&App{reload: r}).Reload(t.Context()) })
			require.Equal(t, 2, tries)
		})
	})
}
