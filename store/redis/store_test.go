package redis

import (
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/redistest"
	"github.com/klaxonhq/klaxon/store/storetest"
	"github.com/stretchr/testify/require"
)

// prefixes makes each contract case's prefix unique: cases share a server
// and stay apart by prefix, which is quicker than a server per case.
var prefixes atomic.Int64

// contract runs the contract suite on addrs, each case under its own
// prefix.
func contract(t *testing.T, addrs []string) {
	storetest.Run(t, func(t *testing.T) func() klaxon.Store {
		o := Options{Addrs: addrs, Prefix: fmt.Sprintf("t%d", prefixes.Add(1))}
		return func() klaxon.Store { return open(t, o) }
	})
	// A close whose process stopped once it landed leaves the unindexing
	// owed until Unindex.
	t.Run("unindex owed", func(t *testing.T) {
		s := open(t, Options{Addrs: addrs, Prefix: fmt.Sprintf("t%d", prefixes.Add(1))})
		t.Cleanup(func() { s.Close() })
		storetest.UnindexOwed(t, s, func(c klaxon.Commit) storetest.Unindexer {
			s.drainLater = true
			defer func() { s.drainLater = false }()
			require.NoError(t, s.Commit(t.Context(), c))
			return s
		})
	})
	t.Run("overrides", func(t *testing.T) {
		storetest.RunOverrides(t, func(t *testing.T) klaxon.OverrideStore {
			s := open(t, Options{Addrs: addrs, Prefix: fmt.Sprintf("t%d", prefixes.Add(1))})
			t.Cleanup(func() { s.Close() })
			return s
		})
	})
}

// open opens a store; the test closes it.
func open(t testing.TB, o Options) *Store {
	t.Helper()
	s, err := Open(t.Context(), o)
	require.NoError(t, err)
	return s
}

func TestStore(t *testing.T) {
	contract(t, []string{redistest.Start(t).Addr()})
}

// TestStoreCluster runs the contract suite on a 3-master cluster, where a
// script that reached keys of two slots would fail with CROSSSLOT, then
// the cluster's own checks (cluster_test.go) on the same cluster.
func TestStoreCluster(t *testing.T) {
	t.Parallel()
	c := redistest.StartCluster(t, 3)
	t.Run("contract", func(t *testing.T) { contract(t, c.Addrs()) })
	t.Run("cluster", func(t *testing.T) { clusterChecks(t, c) })
}
