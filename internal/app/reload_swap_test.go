package app

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon/config"
	"github.com/klaxonhq/klaxon/internal/syncbuf"
)

// TestReloadOnFolderSwapped: a folder of YAML files replaced whole, as
// a deploy that renames a new copy into place does (and as Kubernetes
// updates a mounted ConfigMap: a symlink swapped for another), changes
// the YAML files of the config's folders, so the watch reloads; and the
// folder swapped in is watched from then on, so that a later edit of a
// file in it reloads too.
func TestReloadOnFolderSwapped(t *testing.T) {
	path := writeConfig(t)
	dir := filepath.Dir(path)
	onCall, logs := watching(t, path)

	// A new copy of schedules/, renamed into place.
	schedules := filepath.Join(dir, "schedules")
	b := swapIn(t, schedules, "members: [bob]")
	require.Eventually(t, func() bool { return slices.Equal(onCall(), []string{"bob"}) },
		5*time.Second, 10*time.Millisecond, "the swapped folder reloads")

	// An edit in the folder swapped in.
	rewrite(t, filepath.Join(schedules, "primary.yaml"), "members: [bob]", "members: [alice]")
	require.Eventually(t, func() bool { return slices.Equal(onCall(), []string{"alice"}) },
		5*time.Second, 10*time.Millisecond, "an edit in the swapped-in folder reloads")

	// A folder swapped in with a broken file is refused, and still
	// watched: the file mended in it reloads.
	require.NoError(t, os.Rename(schedules, filepath.Join(dir, "schedules.older")))
	require.NoError(t, os.MkdirAll(schedules, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(schedules, "primary.yaml"), append(b, "bad: key\n"...), 0o644))
	require.Eventually(t, func() bool { return strings.Contains(logs.String(), "reload refused") },
		5*time.Second, 10*time.Millisecond, "the broken folder is refused")
	rewrite(t, filepath.Join(schedules, "primary.yaml"), "members: [alice, bob]", "members: [bob]")
	rewrite(t, filepath.Join(schedules, "primary.yaml"), "bad: key\n", "")
	require.Eventually(t, func() bool { return slices.Equal(onCall(), []string{"bob"}) },
		5*time.Second, 10*time.Millisecond, "a file mended in a folder swapped in reloads")
}

// TestReloadOnConfigMapSwapped: Kubernetes mounts a ConfigMap as
// symlinks through ..data to a folder of the version, and updates it by
// swapping ..data for a link to the next version's folder: the watch
// reloads, and follows each next update.
func TestReloadOnConfigMapSwapped(t *testing.T) {
	mount := t.TempDir()
	require.NoError(t, os.Rename(filepath.Dir(writeConfig(t)), filepath.Join(mount, "..v1")))
	require.NoError(t, os.Symlink("..v1", filepath.Join(mount, "..data")))
	for _, name := range []string{"klaxon.yaml", "users.yaml", "policies", "schedules"} {
		require.NoError(t, os.Symlink(filepath.Join("..data", name), filepath.Join(mount, name)))
	}
	path := filepath.Join(mount, "klaxon.yaml")
	onCall, _ := watching(t, path)

	// As kubelet's atomic writer updates the ConfigMap.
	update := func(version, from, to string) {
		t.Helper()
		require.NoError(t, os.CopyFS(filepath.Join(mount, version), os.DirFS(filepath.Join(mount, "..data"))))
		rewrite(t, filepath.Join(mount, version, "schedules", "primary.yaml"), from, to)
		require.NoError(t, os.Symlink(version, filepath.Join(mount, "..data_tmp")))
		require.NoError(t, os.Rename(filepath.Join(mount, "..data_tmp"), filepath.Join(mount, "..data")))
	}
	update("..v2", "members: [alice, bob]", "members: [bob]")
	require.Eventually(t, func() bool { return slices.Equal(onCall(), []string{"bob"}) },
		5*time.Second, 10*time.Millisecond, "the ConfigMap's update reloads")
	require.NoError(t, os.RemoveAll(filepath.Join(mount, "..v1")))
	update("..v3", "members: [bob]", "members: [alice]")
	require.Eventually(t, func() bool { return slices.Equal(onCall(), []string{"alice"}) },
		5*time.Second, 10*time.Millisecond, "the ConfigMap's next update reloads")
}

// watching runs a reloader of the config at path, watching its folders,
// until t ends, and returns who the running config's schedule primary
// has (writeConfig's: alice and bob) and the reloader's log.
func watching(t *testing.T, path string) (onCall func() []string, logs *syncbuf.Buffer) {
	t.Helper()
	cfg, err := config.Load(path, nil)
	require.NoError(t, err)
	rt := newRuntime(cfg, nil)
	logs = &syncbuf.Buffer{}
	r := newReloader(path, nil, rt, slog.New(slog.NewTextHandler(logs, nil)), true)
	require.NotNil(t, r.w)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- r.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
		r.Close()
	})
	onCall = func() []string {
		s, ok := rt.cfg.Load().Schedules["primary"]
		if !ok {
			return nil
		}
		return s.Members()
	}
	require.Equal(t, []string{"alice", "bob"}, onCall())
	return onCall, logs
}

// TestReloadOnFolderSwappedOutside: a config folder that is not in the
// config file's folder (schedules: /srv/klaxon/schedules), replaced
// whole by a deploy that renames a new copy into place, is a change of
// the config (README: "or one of the folders is replaced whole"). The
// watch of such a folder sees only the folder itself moved away, by its
// own name: that event reloads.
func TestReloadOnFolderSwappedOutside(t *testing.T) {
	path := writeConfig(t)
	dir := filepath.Dir(path)
	srv := t.TempDir()
	schedules := filepath.Join(srv, "schedules")
	require.NoError(t, os.Rename(filepath.Join(dir, "schedules"), schedules))
	rewrite(t, path, "schedules: schedules/", "schedules: "+schedules)
	cfg, err := config.Load(path, nil)
	require.NoError(t, err)
	require.Contains(t, cfg.Sources, schedules)
	r := newReloader(path, nil, newRuntime(cfg, nil), slog.New(slog.DiscardHandler), true)
	defer r.Close()
	require.NotNil(t, r.w)

	// A new copy of schedules/, renamed into place.
	swapIn(t, schedules, "members: [bob]")

	// The watcher's events, each judged as Run judges it when it comes,
	// up to the one of the schedules folder moved away.
	reloads := false
	for ev := range r.w.Events {
		reloads = reloads || r.changes(ev.Name)
		if ev.Name == schedules {
			break
		}
	}
	require.True(t, reloads, "the folder swapped changes the config, yet no event of it reloads")
}

// swapIn replaces the folder schedules whole, as a deploy does: a copy
// whose primary.yaml has members instead of writeConfig's, renamed into
// place, the old one moved aside. It returns the old primary.yaml.
func swapIn(t *testing.T, schedules, members string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(schedules, "primary.yaml"))
	require.NoError(t, err)
	fresh := schedules + ".new"
	require.NoError(t, os.CopyFS(fresh, os.DirFS(schedules)))
	rewrite(t, filepath.Join(fresh, "primary.yaml"), "members: [alice, bob]", members)
	require.NoError(t, os.Rename(schedules, schedules+".old"))
	require.NoError(t, os.Rename(fresh, schedules))
	return b
}
