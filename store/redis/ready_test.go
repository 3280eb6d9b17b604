package redis

import (
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/redistest"
)

// TestPingProbesWrites: a Redis that answers but cannot write is not
// ready (Ping fails with ErrUnavailable, so /readyz answers 503), and is
// ready again once it writes.
func TestPingProbesWrites(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	other := redistest.Start(t)
	s := open(t, Options{Addrs: []string{srv.Addr()}})
	t.Cleanup(func() { _ = s.Close() })
	ctx := t.Context()
	require.NoError(t, s.Ping(ctx))
	_, port, err := net.SplitHostPort(other.Addr())
	require.NoError(t, err)

	tests := []struct {
		name      string
		fail, fix [][]string
		want      string
	}{
		{"no replica to write to", [][]string{{"CONFIG", "SET", "min-replicas-to-write", "1"}}, [][]string{{"CONFIG", "SET", "min-replicas-to-write", "0"}}, "NOREPLICAS"},
		{"out of memory", [][]string{{"CONFIG", "SET", "maxmemory-policy", "noeviction"}, {"CONFIG", "SET", "maxmemory", "1"}}, [][]string{{"CONFIG", "SET", "maxmemory", "0"}}, "OOM"},
		{"a replica after failover", [][]string{{"REPLICAOF", "127.0.0.1", port}}, [][]string{{"REPLICAOF", "NO", "ONE"}}, "READONLY"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, cmd := range tt.fail {
				_, err := redistest.Do(srv.Addr(), cmd...)
				require.NoError(t, err, cmd)
			}
			err := s.Ping(ctx)
			require.ErrorIs(t, err, klaxon.ErrUnavailable)
			require.ErrorContains(t, err, tt.want)
			for _, cmd := range tt.fix {
				_, err := redistest.Do(srv.Addr(), cmd...)
				require.NoError(t, err, cmd)
			}
			require.NoError(t, s.Ping(ctx))
		})
	}

	// The probe's key is of this replica, and goes away by itself.
	ttl, err := s.rdb.PTTL(ctx, probeKey(s.tags[0], s.replica)).Result()
	require.NoError(t, err)
	require.Greater(t, ttl, time.Duration(0))
	require.LessOrEqual(t, ttl, probeTTL)
}
