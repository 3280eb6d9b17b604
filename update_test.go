package klaxon_test

import (
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/store/embedded"
)

// staleCache is a store whose cache holds a state the group left: the
// group as it was before its incident opened.
type staleCache struct {
	*embedded.Store
	asked int
}

func (s *staleCache) CachedGroup(key string, _ []string) (klaxon.Group, bool) {
	s.asked++
	return klaxon.Group{Key: key}, true
}

// TestUpdateCached: a commit computed from the cache goes to the store,
// whose compare-and-set decides; "nothing to write" and errors computed
// from the cache are not final, since only a commit proves the cached
// state current.
func TestUpdateCached(t *testing.T) {
	st, err := embedded.Open(filepath.Join(t.TempDir(), "k.db"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	s := &staleCache{Store: st}
	ctx := t.Context()
	open := &klaxon.Incident{ID: "1", Group: "g", State: klaxon.StateTriggered}
	require.NoError(t, st.Commit(ctx, klaxon.Commit{Group: "g", Open: "1", Incidents: []*klaxon.Incident{open}}))

	// Acting on the open incident: the cache says there is none.
	var seen []*klaxon.Incident
	err = klaxon.Update(ctx, s, "g", nil, func(g klaxon.Group) (*klaxon.Commit, error) {
		seen = append(seen, g.Open)
		if g.Open == nil {
			return nil, nil
		}
		inc := g.Open.Header()
		inc.State = klaxon.StateAcknowledged
		return &klaxon.Commit{Open: inc.ID, Incidents: []*klaxon.Incident{inc}}, nil
	})
	require.NoError(t, err)
	require.Equal(t, 1, s.asked)
	require.Len(t, seen, 2, "called on the cache, then on the store")
	require.Nil(t, seen[0])
	got, err := st.Incident(ctx, "1")
	require.NoError(t, err)
	require.Equal(t, klaxon.StateAcknowledged, got.State)

	// An error computed from the cache is tried on the store.
	calls := 0
	err = klaxon.Update(ctx, s, "g", nil, func(g klaxon.Group) (*klaxon.Commit, error) {
		calls++
		if g.Open == nil {
			return nil, klaxon.ErrNotFound
		}
		return nil, nil
	})
	require.NoError(t, err)
	require.Equal(t, 2, calls)

	// A commit computed from the cache is refused; the store's state wins.
	calls = 0
	err = klaxon.Update(ctx, s, "g", nil, func(g klaxon.Group) (*klaxon.Commit, error) {
		calls++
		inc := &klaxon.Incident{ID: "2", Group: "g", State: klaxon.StateTriggered}
		if g.Open != nil {
			return nil, errors.New("open: " + g.Open.ID)
		}
		return &klaxon.Commit{Open: "2", Incidents: []*klaxon.Incident{inc}}, nil
	})
	require.EqualError(t, err, "open: 1")
	require.Equal(t, 2, calls)
	_, err = st.Incident(ctx, "2")
	require.ErrorIs(t, err, klaxon.ErrNotFound)
}

func TestCommitSchedule(t *testing.T) {
	inc := &klaxon.Incident{ID: "7", Group: "g"}
	due := time.Date(2026, 11, 27, 3, 0, 0, 0, time.UTC)
	var c klaxon.Commit
	c.Schedule(inc, due)
	c.Schedule(&klaxon.Incident{ID: "8", Group: "h"}, time.Time{})
	require.Equal(t, []klaxon.Timer{{Incident: "7", Group: "g", Due: due}}, c.Timers)
	require.Equal(t, []string{"8"}, c.Cancel, "no due time: the timer goes")
}
