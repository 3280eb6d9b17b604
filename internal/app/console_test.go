package app

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/config"
	"github.com/klaxonhq/klaxon/web"
)

// TestConsoleSignIn: the console signs in API tokens with their scope
// and users with their web token as themselves, and finds each again in
// the config as it is now: a token removed by a reload is gone.
func TestConsoleSignIn(t *testing.T) {
	path := writeConfig(t)
	rewrite(t, path, "notify:", "api:\n  tokens:\n    - {name: dashboard, token: dashboard-token-01, scopes: [read]}\nnotify:")
	rewrite(t, filepath.Join(filepath.Dir(path), "users.yaml"), "{id: alice}", "{id: alice, name: Alice Chen, web_token: alice-web-token-0123}")
	cfg, err := config.Load(path, nil)
	require.NoError(t, err)
	rt := newRuntime(cfg, nil)

	id, ok := rt.SignIn("dashboard-token-01")
	require.True(t, ok)
	require.Equal(t, web.Identity{Kind: web.KindToken, Name: "dashboard", Display: "dashboard", Scope: klaxon.ScopeRead}, id)
	id, ok = rt.SignIn("alice-web-token-0123")
	require.True(t, ok)
	require.Equal(t, web.Identity{Kind: web.KindUser, Name: "alice", Display: "Alice Chen", Scope: klaxon.ScopeAct}, id)
	_, ok = rt.SignIn("")
	require.False(t, ok)

	got, token, ok := rt.Current(web.KindUser, "alice")
	require.True(t, ok)
	require.Equal(t, "alice-web-token-0123", token)
	require.Equal(t, "alice", got.Name)
	_, _, ok = rt.Current(web.KindUser, "bob")
	require.False(t, ok, "bob has no web token")
	_, _, ok = rt.Current(web.KindToken, "alice")
	require.False(t, ok, "a user is not a token")

	rewrite(t, path, "    - {name: dashboard, token: dashboard-token-01, scopes: [read]}\n", "    - {name: ops, token: ops-token-0123456, scopes: [admin]}\n")
	cfg, err = config.Load(path, nil)
	require.NoError(t, err)
	rt.cfg.Store(cfg)
	_, _, ok = rt.Current(web.KindToken, "dashboard")
	require.False(t, ok, "removed by the reload")
	_, ok = rt.SignIn("dashboard-token-01")
	require.False(t, ok)
}
