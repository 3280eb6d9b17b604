package escalate_test

import (
	"context"
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
