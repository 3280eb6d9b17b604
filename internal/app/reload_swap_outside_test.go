package app

import (
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon/config"
)

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
	fresh := filepath.Join(srv, "schedules.new")
	require.NoError(t, os.MkdirAll(fresh, 0o755))
	b, err := os.ReadFile(filepath.Join(schedules, "primary.yaml"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(fresh, "primary.yaml"), b, 0o644))
	rewrite(t, filepath.Join(fresh, "primary.yaml"), "members: [alice, bob]", "members: [bob]")
	require.NoError(t, os.Rename(schedules, filepath.Join(srv, "schedules.old")))
	require.NoError(t, os.Rename(fresh, schedules))

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
