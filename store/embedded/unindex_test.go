package embedded

import (
	"path/filepath"
	"testing"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/store/storetest"
	"github.com/stretchr/testify/require"
)

// TestUnindexOwed: a close whose caller stopped once it was durable, and
// a restart, leave the unindexing owed until Unindex.
func TestUnindexOwed(t *testing.T) {
	path := filepath.Join(t.TempDir(), "k.db")
	s, err := Open(path)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	storetest.UnindexOwed(t, s, func(c klaxon.Commit) storetest.Unindexer {
		q, err := s.Queue(t.Context(), c, nil, nil)
		require.NoError(t, err)
		<-q.Done() // durable; Wait would unindex
		require.NoError(t, s.Close())
		s, err = Open(path)
		require.NoError(t, err)
		return s
	})
}
