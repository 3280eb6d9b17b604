package redis

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon/internal/redistest"
	"github.com/klaxonhq/klaxon/store/storetest"
)

// TestPagedEntries: the members of P:p:<user> follow the life of an
// incident (see storetest.CheckPagedEntries).
func TestPagedEntries(t *testing.T) {
	s := open(t, Options{Addrs: []string{redistest.Start(t).Addr()}, Prefix: "paged"})
	t.Cleanup(func() { _ = s.Close() })
	storetest.CheckPagedEntries(t, s, func(user string) []string {
		ids, err := s.rdb.SMembers(t.Context(), s.pagedKey(user)).Result()
		require.NoError(t, err)
		slices.Sort(ids)
		return ids
	})
}
