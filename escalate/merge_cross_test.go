package escalate_test

import (
	"context"
	"errors"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/incidenttest"
)

// crossMerge is a store on which, once a merge of src has copied the
// last of src's timeline and before it resolves src, cross runs: another
// responder's merge, the other way, lands then.
type crossMerge struct {
	klaxon.Store
	src   string
	reads atomic.Int32 // of src's timeline
	armed atomic.Bool
	cross func()
}

func (s *crossMerge) Timeline(ctx context.Context, id string, offset, limit int) ([]klaxon.Event, int, error) {
	if id == s.src && s.reads.Add(1) == 2 {
		s.armed.Store(true) // the merge's copy of src's events: its resolve of src comes next
	}
	return s.Store.Timeline(ctx, id, offset, limit)
}

func (s *crossMerge) Incident(ctx context.Context, id string) (*klaxon.Incident, error) {
	if id == s.src && s.armed.CompareAndSwap(true, false) {
		s.cross()
	}
	return s.Store.Incident(ctx, id)
}

// TestCrossMergeLeavesOneOpen: in a storm two responders each merge the
// other's incident into their own at the same moment: A into T, and T
// into A. However they interleave, the storm's alerts end in one open
// incident, which pages until someone acts: one of the merges is refused
// (nothing merges into a resolved incident), never both incidents
// resolved, each as merged into the other, with nothing left open to
// page for what still fires.
func TestCrossMergeLeavesOneOpen(t *testing.T) {
	r := incidenttest.NewRig(t, workT0)
	ctx := t.Context()
	a := r.Open(t, "db")
	tgt := r.Open(t, "api")
	for id, key := range map[string]string{a: "prometheus/db", tgt: "prometheus/api"} {
		r.Update(t, id, func(inc *klaxon.Incident) {
			inc.Changed = append(inc.Changed, klaxon.AlertState{Alert: klaxon.Alert{Key: key, Status: klaxon.Firing, Summary: key + " down"},
				Count: 1, FirstSeen: workT0, LastSeen: workT0})
			inc.AlertCount, inc.FiringCount = 1, 1
		})
	}
	s := &crossMerge{Store: r.Store, src: a}
	e := incidenttest.NewEngine(s, r.Clock.Now)
	var crossErr error
	s.cross = func() { _, crossErr = e.Merge(ctx, tgt, a, klaxon.Actor{By: "bob", How: "web"}) }

	_, err := e.Merge(ctx, a, tgt, klaxon.Actor{By: "alice", How: "web"})
	t.Logf("merge A into T: %v; merge T into A: %v", err, crossErr)

	open := 0
	for _, id := range []string{a, tgt} {
		if r.Incident(t, id).State.Open() {
			open++
		}
	}
	require.Equal(t, 1, open, "A and T merged into each other: both resolved, while their alerts fire")
}

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

// failNthRead is a store whose nth read of incident id fails (timeline
// reads of id with events): the merge reading stops there, as a replica
// that dies does.
type failNthRead struct {
	klaxon.Store
	id             string
	n, events      int32
	reads, tlReads atomic.Int32
}

func (s *failNthRead) Incident(ctx context.Context, id string) (*klaxon.Incident, error) {
	if id == s.id && s.n > 0 && s.reads.Add(1) == s.n {
		return nil, errors.New("replica gone")
	}
	return s.Store.Incident(ctx, id)
}

func (s *failNthRead) Timeline(ctx context.Context, id string, offset, limit int) ([]klaxon.Event, int, error) {
	if id == s.id && s.events > 0 && s.tlReads.Add(1) == s.events {
		return nil, 0, errors.New("replica gone")
	}
	return s.Store.Timeline(ctx, id, offset, limit)
}

// TestMergeAskedAgainFinishesDespiteCrossMark: alice's merge of A into
// T stops halfway: T holds A's alert and where the merge is. Bob then
// merges T into A; his replica dies after T's first commit (T marked as
// merging into A). Alice's client asks her merge again: it must finish
// it, as before cross merges were refused. T recorded A's merge first;
// bob's can never land (A is marked into T), and T holding part of A
// is finished into T or not at all.
func TestMergeAskedAgainFinishesDespiteCrossMark(t *testing.T) {
	r := incidenttest.NewRig(t, workT0)
	ctx := t.Context()
	a := r.Open(t, "db")
	tgt := r.Open(t, "api")
	r.Update(t, a, func(inc *klaxon.Incident) {
		inc.Changed = append(inc.Changed, klaxon.AlertState{Alert: klaxon.Alert{Key: "prometheus/db", Status: klaxon.Firing, Summary: "db down"},
			Count: 1, FirstSeen: workT0, LastSeen: workT0})
		inc.AlertCount, inc.FiringCount = 1, 1
	})
	alice := klaxon.Actor{By: "alice", How: "web"}
	// src's second timeline read: the merge's copy of its events.
	_, err := incidenttest.NewEngine(&failNthRead{Store: r.Store, id: a, events: 2}, r.Clock.Now).Merge(ctx, a, tgt, alice)
	require.Error(t, err, "alice's merge stopped halfway")
	held, _, err := r.Store.IncidentAlerts(ctx, tgt, "", 10)
	require.NoError(t, err)
	require.Len(t, held, 1, "T holds A's alert")

	// bob's merge reads A twice before its commit on A: the second fails.
	_, bobErr := incidenttest.NewEngine(&failNthRead{Store: r.Store, id: a, n: 2}, r.Clock.Now).Merge(ctx, tgt, a, klaxon.Actor{By: "bob", How: "web"})
	require.Error(t, bobErr)
	require.Equal(t, a, r.Incident(t, tgt).MergedInto(), "bob's first commit marked T")

	_, err = r.Engine.Merge(ctx, a, tgt, alice)
	require.NoError(t, err, "alice's merge asked again finishes the merge T holds part of; A's Once %q, T's Once %q", r.Incident(t, a).Once, r.Incident(t, tgt).Once)
	require.Equal(t, klaxon.StateResolved, r.Incident(t, a).State)
}

// beforeTakeBack is a store on which, as a merge of src that was
// refused as crossed reads src to take back its mark (src's third read),
// between runs: what other responders do in that moment.
type beforeTakeBack struct {
	klaxon.Store
	src     string
	reads   atomic.Int32
	between func()
}

func (s *beforeTakeBack) Incident(ctx context.Context, id string) (*klaxon.Incident, error) {
	if id == s.src && s.reads.Add(1) == 3 {
		s.between()
	}
	return s.Store.Incident(ctx, id)
}

// TestCrossMergeTakeBackSparesThirdMerge: alice merges A into T while
// bob merges T into A (T marked as merging into A): alice's is refused
// as crossed. Before she takes A's mark back, bob's reaches A, finds it
// marked, and is refused too, taking T's mark back; then carol (or
// alice's client, sending the merge again) merges A into T, which now
// lands. Alice's take-back must not drop the mark of carol's merge: A,
// resolved as merged into T, must say so (MergedInto), or its alerts
// sent again open an incident, and page, for what T holds, and a merge
// under way could be split with another.
func TestCrossMergeTakeBackSparesThirdMerge(t *testing.T) {
	r := incidenttest.NewRig(t, workT0)
	ctx := t.Context()
	a := r.Open(t, "db")
	tgt := r.Open(t, "api")
	r.Update(t, tgt, func(inc *klaxon.Incident) { inc.Once = append(inc.Once, klaxon.MergingInto+a) }) // bob's merge's first commit
	others := incidenttest.NewEngine(r.Store, r.Clock.Now)
	var bobErr, carolErr error
	s := &beforeTakeBack{Store: r.Store, src: a, between: func() {
		_, bobErr = others.Merge(ctx, tgt, a, klaxon.Actor{By: "bob", How: "web"})
		_, carolErr = others.Merge(ctx, a, tgt, klaxon.Actor{By: "carol", How: "web"})
	}}
	e := incidenttest.NewEngine(s, r.Clock.Now)

	_, err := e.Merge(ctx, a, tgt, klaxon.Actor{By: "alice", How: "web"})
	require.ErrorIs(t, err, klaxon.ErrConflict, "alice's merge crossed bob's")
	require.ErrorIs(t, bobErr, klaxon.ErrConflict, "bob's found A marked")
	require.NoError(t, carolErr, "carol's merge landed")

	got := r.Incident(t, a)
	require.Equal(t, klaxon.StateResolved, got.State)
	require.True(t, r.Incident(t, tgt).State.Open())
	require.Equal(t, tgt, got.MergedInto(), "A merged into T, its Once %q", got.Once)
}
