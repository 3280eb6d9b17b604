package escalate_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/incidenttest"
)

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
