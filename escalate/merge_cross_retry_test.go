package escalate_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/incidenttest"
)

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
