package review_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/incidenttest"
	"github.com/klaxonhq/klaxon/review"
)

// noteDuringCopy is a store on which, as a merge reads src's timeline to
// copy it (its second read of it, after the check of where src merged),
// a note lands on dst first: anything dst records while a merge runs
// over several commits (a page, an alert, a note) does the same.
type noteDuringCopy struct {
	klaxon.Store
	src   string
	reads atomic.Int32
	note  func()
}

func (s *noteDuringCopy) Timeline(ctx context.Context, id string, offset, limit int) ([]klaxon.Event, int, error) {
	if id == s.src && offset == 0 && s.reads.Add(1) == 2 {
		s.note()
	}
	return s.Store.Timeline(ctx, id, offset, limit)
}

// TestReportMergeInterleaved: dst is never acknowledged; src is,
// by alice, a minute in. src merges into dst while dst records an event
// of its own (a note). The report must count one acknowledgement (src's)
// and dst's events copied from src must not be dst's own.
func TestReportMergeInterleaved(t *testing.T) {
	t.Run("no interleaving", func(t *testing.T) { testMergeInterleaved(t, false) })
	t.Run("dst notes during merge", func(t *testing.T) { testMergeInterleaved(t, true) })
}

func testMergeInterleaved(t *testing.T, interleave bool) {
	ctx := t.Context()
	t0 := time.Date(2026, 11, 4, 12, 0, 0, 0, time.UTC)
	r := incidenttest.NewRig(t, t0)
	dst := r.Open(t, "db")
	src := r.Open(t, "db-replica")
	r.Clock.Add(time.Minute)
	_, err := r.Engine.Act(ctx, klaxon.ActionAck, src, klaxon.Actor{By: "alice", How: "sms"})
	require.NoError(t, err)
	r.Clock.Add(9 * time.Minute)

	s := &noteDuringCopy{Store: r.Store, src: src, note: func() {
		if !interleave {
			return
		}
		_, err := r.Engine.Note(ctx, dst, "looking at the primary", false, klaxon.Actor{By: "bob", How: "web"})
		require.NoError(t, err)
	}}
	e := incidenttest.NewEngine(s, r.Clock.Now)
	_, err = e.Merge(ctx, src, dst, klaxon.Actor{By: "ops", How: "cli"})
	require.NoError(t, err)

	require.True(t, r.Incident(t, dst).AckedAt.IsZero(), "dst itself was never acknowledged")
	rep, _, err := review.Load(ctx, r.Store, review.Options{Since: t0.Add(-time.Hour)})
	require.NoError(t, err)
	require.Equal(t, 2, rep.Overall.Incidents)
	require.Equal(t, 1, rep.Overall.MTTA.Count, "only src was acknowledged; src's ack copied into dst is not dst's")

	md, err := review.Export(ctx, r.Store, nil, dst, time.UTC)
	require.NoError(t, err)
	require.Contains(t, md, "| Time to acknowledge | not acknowledged |", "dst's review must not take src's ack for dst's")
}
