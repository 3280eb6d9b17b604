package redis

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon/internal/redistest"
	"github.com/klaxonhq/klaxon/store/storetest"
)

// TestUpgradeLayout1 starts Redis on keys that the previous layout wrote
// (testdata/v1.rdb; see storetest.CheckLayout1) and reads it all in the
// new layout, also after a second open.
func TestUpgradeLayout1(t *testing.T) {
	srv := redistest.Start(t)
	srv.Stop(t)
	rdb, err := os.ReadFile(filepath.Join("testdata", "v1.rdb"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(srv.Dir(), "dump.rdb"), rdb, 0o600))
	srv.Restart(t)

	for range 2 {
		s := open(t, Options{Addrs: []string{srv.Addr()}})
		storetest.CheckLayout1(t, s)
		require.NoError(t, s.Close())
	}
}

// TestNewerLayoutRefused: keys of a layout this version does not know are
// never read wrongly; Open says what to do.
func TestNewerLayoutRefused(t *testing.T) {
	addr := redistest.Start(t).Addr()
	s := open(t, Options{Addrs: []string{addr}, Prefix: "newer"})
	require.NoError(t, s.rdb.Set(t.Context(), s.layoutKey(), "4", 0).Err())
	require.NoError(t, s.Close())
	_, err := Open(t.Context(), Options{Addrs: []string{addr}, Prefix: "newer"})
	require.ErrorContains(t, err, "key layout 4, written by a newer Klaxon")
}

// TestUpgradeLayout2: the open incidents of keys of layout 2, written
// before the index of pages by user, are in the index at layout 3: a
// reply after the upgrade finds the incident that paged its sender. A
// Klaxon of layout 2 would refuse the keys now, instead of paging
// without the index.
func TestUpgradeLayout2(t *testing.T) {
	addr := redistest.Start(t).Addr()
	o := Options{Addrs: []string{addr}, Prefix: "v2"}
	s := open(t, o)
	id := storetest.CommitUnindexedPages(t, s)
	ctx := t.Context()
	require.NoError(t, s.rdb.Set(ctx, s.layoutKey(), "2", 0).Err())
	require.NoError(t, s.Close())

	for range 2 {
		s = open(t, o)
		storetest.CheckIndexedPages(t, s, id)
		layout, err := s.rdb.Get(ctx, s.layoutKey()).Result()
		require.NoError(t, err)
		require.Equal(t, "3", layout)
		require.NoError(t, s.Close())
	}
}
