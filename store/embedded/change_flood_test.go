package embedded

import (
	"bytes"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/btree"
	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
)

// TestPutChangeAtBoundSkipsWhatItDropped: once an integration holds its
// bound of changes, each put drops the oldest. What the puts since the
// last checkpoint dropped is still in the writer's layer, as deletes;
// a put must not walk them all to find the oldest change left, or a
// flood of change events holds the writer that every alert commit and
// every escalation write share, longer with each put until the next
// checkpoint. The work of a put, counted as the comparisons of keys in
// the layer, may not grow with the puts before it.
func TestPutChangeAtBoundSkipsWhatItDropped(t *testing.T) {
	s, _ := openWith(t, func(w *writer) { w.every = time.Hour }) // no checkpoint in the test
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	bounds := klaxon.ChangeBounds{Count: 10}
	var seq atomic.Int64
	put := func() error {
		i := seq.Add(1)
		_, err := s.PutChange(t.Context(), klaxon.Change{Integration: "tools", Summary: "deploy", At: now.Add(time.Duration(i) * time.Millisecond), ReceivedAt: now}, now, bounds)
		return err
	}
	flood := func(n int) { // by several senders, as their puts share batches
		var wg sync.WaitGroup
		for range 16 {
			wg.Go(func() {
				for range n / 16 {
					if err := put(); err != nil {
						t.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
	}
	for range 2 * bounds.Count {
		require.NoError(t, put()) // at the bound, and past it
	}
	compares := countCompares(t, s, bucketChanges)
	work := func() int64 {
		compares.Store(0)
		require.NoError(t, put())
		return compares.Load()
	}
	early := work()
	flood(4000)
	late := work()
	require.LessOrEqual(t, late, 3*early+50, "a put at the bound after 4,000 others compared %d keys; after %d, %d", late, 2*bounds.Count, early)
}

// countCompares makes the ordered index of bucket's writes in the
// writer's layer count the comparisons of keys it makes.
func countCompares(t *testing.T, s *Store, bucket []byte) *atomic.Int64 {
	t.Helper()
	var n atomic.Int64
	s.w.mu.Lock()
	defer s.w.mu.Unlock()
	lb := s.w.mem.of(bucket)
	require.NotNil(t, lb, "the layer holds the bucket's writes")
	order := btree.NewG(orderDegree, func(a, b int32) bool {
		n.Add(1)
		return bytes.Compare(lb.key(a), lb.key(b)) < 0
	})
	lb.order.Ascend(func(i int32) bool {
		order.ReplaceOrInsert(i)
		return true
	})
	lb.order = order
	return &n
}
