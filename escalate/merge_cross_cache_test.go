package escalate_test

import (
	"context"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/incidenttest"
)

// staleMark is a store with a group cache (as Redis has) whose first
// answer for group holds its open incident still marked as merging
// into into: another replica's merge the other way marked it, and took
// the mark back when it gave way. The store holds no mark.
type staleMark struct {
	klaxon.Store
	group, into string
	armed       atomic.Bool
}

func (s *staleMark) CachedGroup(key string, alerts []string) (klaxon.Group, bool) {
	if key != s.group || !s.armed.CompareAndSwap(true, false) {
		return klaxon.Group{}, false
	}
	g, err := s.Store.Group(context.Background(), key, alerts)
	if err != nil || g.Open == nil {
		return klaxon.Group{}, false
	}
	open := g.Open.Header()
	open.Once = append(open.Once, klaxon.MergingInto+s.into)
	g.Open = open
	return g, true
}

// TestMergeOnStaleCrossKeepsSourceMark: A merges into T. The first
// call of the merge's commit on T sees, from the cache, T marked as
// merging into A (a cross merge that has since given way) and is
// refused; klaxon.Update calls it again on the stored T, which holds no
// mark, and the merge lands. A resolves merged into T, and must still
// say so (MergedInto): the dropped mark lets A be merged elsewhere
// while its alerts move into T, and its alerts sent again open an
// incident, and page, for what T holds.
func TestMergeOnStaleCrossKeepsSourceMark(t *testing.T) {
	r := incidenttest.NewRig(t, workT0)
	ctx := t.Context()
	a := r.Open(t, "db")
	tgt := r.Open(t, "api")
	s := &staleMark{Store: r.Store, group: "api", into: a}
	s.armed.Store(true)
	e := incidenttest.NewEngine(s, r.Clock.Now)

	_, err := e.Merge(ctx, a, tgt, klaxon.Actor{By: "alice", How: "web"})
	require.NoError(t, err, "the stored T is merging nowhere")
	require.False(t, s.armed.Load(), "the cache answered")
	got := r.Incident(t, a)
	require.Equal(t, klaxon.StateResolved, got.State)
	require.True(t, slices.Contains(r.Incident(t, tgt).Once, "merged:"+a), "T took A")
	require.Equal(t, tgt, got.MergedInto(), "A merged into T, its Once %q", got.Once)
}
