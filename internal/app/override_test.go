package app

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/config"
)

// fixedOverrides is a klaxon.OverrideStore that holds a fixed list.
type fixedOverrides []klaxon.Override

var _ klaxon.OverrideStore = fixedOverrides(nil)

func (f fixedOverrides) PutOverride(context.Context, klaxon.Override, time.Time) (klaxon.Override, error) {
	return klaxon.Override{}, klaxon.ErrInvalid
}

func (f fixedOverrides) Overrides(_ context.Context, schedule string, now time.Time) ([]klaxon.Override, error) {
	var out []klaxon.Override
	for _, o := range f {
		if (schedule == "" || o.Schedule == schedule) && o.To.After(now) {
			out = append(out, o)
		}
	}
	return out, nil
}

func (f fixedOverrides) DeleteOverride(context.Context, string, string) error {
	return klaxon.ErrNotFound
}

// TestRuntimeOverrideOfRemovedUser: a runtime override outlives its user,
// whom a reload removed from users.yaml (the config refuses a removed user
// who is still in a rotation or a YAML override, but does not see the
// store). The schedule must not answer with someone the engine cannot
// page: the override stops counting and the rotation shows through, as
// PagerDuty drops a deleted user's overrides. Otherwise every step that
// targets the schedule pages nobody ("unknown user carol") until the
// override ends, up to api.max_override (366 days).
func TestRuntimeOverrideOfRemovedUser(t *testing.T) {
	path := writeConfig(t)
	users := filepath.Join(filepath.Dir(path), "users.yaml")
	require.NoError(t, os.WriteFile(users, []byte("users:\n  - {id: alice}\n  - {id: bob}\n  - {id: carol}\n"), 0o644))
	cfg, err := config.Load(path, nil)
	require.NoError(t, err)

	// Wednesday of alice's week (the rotation hands off Mondays 09:00 in
	// New York); carol stands in for her for a week.
	now := time.Date(2026, 1, 7, 17, 0, 0, 0, time.UTC)
	ovs := fixedOverrides{{ID: "1", Schedule: "primary", User: "carol", From: now.Add(-time.Hour), To: now.Add(7 * 24 * time.Hour)}}
	rt := newRuntime(cfg, ovs)
	got, err := rt.directory().OnCall(t.Context(), "primary", now)
	require.NoError(t, err)
	require.Equal(t, []string{"carol"}, got, "the override counts while carol is a user")

	// carol leaves: users.yaml no longer has her, and the config reloads.
	require.NoError(t, os.WriteFile(users, []byte("users:\n  - {id: alice}\n  - {id: bob}\n"), 0o644))
	r := &reloader{path: path, rt: rt, log: slog.New(slog.DiscardHandler), hup: make(chan os.Signal, 1), wake: make(chan struct{}, 1)}
	require.True(t, r.reload(t.Context(), "test"), "the reload is taken")

	dir := rt.directory()
	got, err = dir.OnCall(t.Context(), "primary", now)
	require.NoError(t, err)
	for _, id := range got {
		_, ok := dir.User(id)
		require.True(t, ok, "%q is on call, and the engine cannot page them: no such user", id)
	}
	require.Equal(t, []string{"alice"}, got, "the rotation shows through")

	api, err := rt.OnCall(t.Context(), "primary", now)
	require.NoError(t, err)
	require.Equal(t, got, api, "the API answers what the engine pages")
}
