package redis

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/redistest"
)

// TestPassword opens the store on a server that requires a password.
func TestPassword(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t, "--requirepass", "s3cret-pass")

	s, err := Open(t.Context(), Options{Addrs: []string{srv.Addr()}, Password: "s3cret-pass", Prefix: "auth"})
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	id, err := s.NextIncidentID(t.Context())
	require.NoError(t, err)
	require.Equal(t, "1", id)

	_, err = Open(t.Context(), Options{Addrs: []string{srv.Addr()}, Password: "guess-4711", Prefix: "auth"})
	require.ErrorContains(t, err, "WRONGPASS")
	require.NotContains(t, err.Error(), "guess-4711", "the password is not echoed")
	_, err = Open(t.Context(), Options{Addrs: []string{srv.Addr()}, Prefix: "auth"})
	require.ErrorContains(t, err, "NOAUTH", "no password")
	require.NotErrorIs(t, err, klaxon.ErrUnavailable, "a refused password is no outage: retrying will not help")
}
