package ingest_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/ingest"
	"github.com/klaxonhq/klaxon/store/embedded"
)

// queueing is the embedded store with a say in its queue: the commit
// queued while hold is set waits in Queue until release, so that the
// deliveries that come meanwhile are waiting when it returns; before
// that commit goes on, meddle may write to the group as another writer.
type queueing struct {
	*embedded.Store
	mu      sync.Mutex
	hold    bool
	held    chan struct{} // closed when the held commit is in Queue
	release chan struct{}
	meddle  func()
	afters  []klaxon.Queued // the after of each Queue, nil for none
	slow    chan struct{}   // makes the next commit queued slow: see slowNext
	// failChained fails the next Queue of a commit chained behind
	// another, as a store that cannot take it would.
	failChained bool
	// reads counts the calls of AlertsAfter.
	reads int
}

func (q *queueing) Queue(ctx context.Context, c klaxon.Commit, after klaxon.Queued, landed func()) (klaxon.Queued, error) {
	q.mu.Lock()
	hold, slow := q.hold, q.slow
	q.hold, q.slow = false, nil
	q.afters = append(q.afters, after)
	fail := after != nil && q.failChained
	if fail {
		q.failChained = false
	}
	q.mu.Unlock()
	if fail {
		return nil, errors.New("queue is full")
	}
	if hold {
		close(q.held)
		<-q.release
		if q.meddle != nil {
			q.meddle()
		}
	}
	if s, ok := after.(*slowQueued); ok {
		after = s.Queued
	}
	if slow == nil {
		return q.Store.Queue(ctx, c, after, landed)
	}
	queued, err := q.Store.Queue(ctx, c, after, nil)
	if err != nil {
		return nil, err
	}
	s := &slowQueued{Queued: queued, done: make(chan struct{})}
	go func() {
		<-slow
		<-queued.Done()
		if queued.Wait() == nil && landed != nil {
			landed()
		}
		close(s.done)
	}()
	return s, nil
}

func (q *queueing) AlertsAfter(ctx context.Context, key string, alerts []string, after klaxon.Queued) (string, map[string]klaxon.Seen, error) {
	q.mu.Lock()
	q.reads++
	q.mu.Unlock()
	if s, ok := after.(*slowQueued); ok {
		after = s.Queued
	}
	return q.Store.AlertsAfter(ctx, key, alerts, after)
}

// slowQueued is a commit whose outcome is known, and whose landed is
// called, only once its release is closed, as if its fsync were slow.
type slowQueued struct {
	klaxon.Queued
	done chan struct{}
}

func (s *slowQueued) Done() <-chan struct{} { return s.done }

func (s *slowQueued) Wait() error {
	<-s.done
	return s.Queued.Wait()
}

// slowNext makes the next commit queued slow, until the channel it
// returns is closed.
func (q *queueing) slowNext() chan struct{} {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.slow, q.afters = make(chan struct{}), nil
	return q.slow
}

func (q *queueing) queued() []klaxon.Queued {
	q.mu.Lock()
	defer q.mu.Unlock()
	return append([]klaxon.Queued(nil), q.afters...)
}

// awaitQueued waits until q took n commits.
func (q *queueing) awaitQueued(t *testing.T, n int, msgAndArgs ...any) {
	t.Helper()
	require.Eventually(t, func() bool { return len(q.queued()) == n }, 10*time.Second, time.Millisecond, msgAndArgs...)
}

func (q *queueing) holdNext() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.hold, q.held, q.release, q.afters = true, make(chan struct{}), make(chan struct{}), nil
}

func newQueueing(t *testing.T) *queueing {
	s, err := embedded.Open(filepath.Join(t.TempDir(), "k.db"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return &queueing{Store: s}
}

// chained sends a, then b and c while a's commit is queued: b and c
// fold on the group as a's commit leaves it. a's commit lands only once
// the one behind it is queued: landed sooner, b and c would go the plain
// way, after it.
func chained(t *testing.T, q *queueing) (*ingest.Pipeline, <-chan error) {
	p := openedOn(t, q)
	ctx := t.Context()

	q.holdNext()
	slow := q.slowNext()
	errs := make(chan error, 3)
	go func() { errs <- p.Accept(ctx, []klaxon.Alert{firing("am/2", nil)}) }()
	<-q.held
	go func() { errs <- p.Accept(ctx, []klaxon.Alert{firing("am/3", nil)}) }()
	go func() { errs <- p.Accept(ctx, []klaxon.Alert{firing("am/1", nil)}) }() // a repeat: changes nothing
	require.Eventually(t, func() bool { return p.Waiting("g") == 2 }, 10*time.Second, time.Millisecond)
	close(q.release)
	q.awaitQueued(t, 2, "b and c are queued behind a's commit")
	close(slow)
	return p, errs
}

// openedOn returns a pipeline on q whose group "g" has an open incident
// of one alert, am/1.
func openedOn(t *testing.T, q *queueing) *ingest.Pipeline {
	t.Helper()
	p := ingest.NewPipeline(q, func() ingest.Router { return oneGroup{} }, nil, func() time.Time { return t0 })
	require.NoError(t, p.Accept(t.Context(), []klaxon.Alert{firing("am/1", nil)}))
	return p
}

// TestChainedCommits: the deliveries that come while a group's commit is
// on its way are folded on the group as that commit leaves it and queued
// behind it, and land as if each had waited.
func TestChainedCommits(t *testing.T) {
	q := newQueueing(t)
	_, errs := chained(t, q)
	for range 3 {
		require.NoError(t, <-errs)
	}
	q.mu.Lock()
	afters := q.afters
	q.mu.Unlock()
	require.Len(t, afters, 2, "the held commit and the one chained to it")
	require.Nil(t, afters[0])
	require.NotNil(t, afters[1], "queued behind the held commit")

	g, err := q.Group(t.Context(), "g", []string{"am/1", "am/2", "am/3"})
	require.NoError(t, err)
	require.Equal(t, uint64(3), g.Version)
	require.Equal(t, 3, g.Open.AlertCount)
	require.Equal(t, 1, g.Alerts["am/1"].Count, "the repeat is not a new occurrence")
	require.Len(t, g.Alerts, 3)
}

// TestChainedCommitsRefused: another writer's commit lands before the
// held one: the store refuses it and the one chained to it, and the
// pipeline folds their deliveries again on the stored group; no sender
// sees the race, and nothing the other writer wrote is lost.
func TestChainedCommitsRefused(t *testing.T) {
	q := newQueueing(t)
	q.meddle = func() {
		err := klaxon.Update(context.Background(), q.Store, "g", nil, func(g klaxon.Group) (*klaxon.Commit, error) {
			inc := g.Open.Header()
			inc.Summary = "acknowledged meanwhile"
			return &klaxon.Commit{Open: inc.ID, Incidents: []*klaxon.Incident{inc}, Urgent: true}, nil
		})
		if err != nil {
			panic(err)
		}
	}
	_, errs := chained(t, q)
	for range 3 {
		require.NoError(t, <-errs)
	}
	g, err := q.Group(t.Context(), "g", []string{"am/1", "am/2", "am/3"})
	require.NoError(t, err)
	require.Equal(t, "acknowledged meanwhile", g.Open.Summary)
	require.Equal(t, 3, g.Open.AlertCount)
	require.Len(t, g.Alerts, 3)
	require.Equal(t, uint64(3), g.Version, "the other writer's commit, then one of both refused deliveries")
}

// TestChainsDeep: while a group's commit is slow to land, the deliveries
// that come are chained behind it, each commit behind the last, not held
// until it lands; all land as if each had waited. Behind the commit that
// opens the group's incident they chain without a read of the store: the
// incident holds only what the chain folded into it.
func TestChainsDeep(t *testing.T) {
	for _, tc := range []struct {
		name string
		open bool // the group has an incident of am/1 open before
		keys []string
	}{
		{"behind a commit to the open incident", true, []string{"am/2", "am/3", "am/4"}},
		{"behind the commit that opens the incident", false, []string{"am/1", "am/2", "am/3"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := newQueueing(t)
			var p *ingest.Pipeline
			all := tc.keys
			if tc.open {
				p = openedOn(t, q)
				all = append([]string{"am/1"}, tc.keys...)
			} else {
				p = ingest.NewPipeline(q, func() ingest.Router { return oneGroup{} }, nil, func() time.Time { return t0 })
			}
			ctx := t.Context()

			release := q.slowNext()
			errs := make(chan error, len(tc.keys))
			for i, key := range tc.keys {
				go func() { errs <- p.Accept(ctx, []klaxon.Alert{firing(key, nil)}) }()
				q.awaitQueued(t, i+1, "%s is queued while the first is in flight", key)
			}
			afters := q.queued()
			require.Nil(t, afters[0])
			require.NotNil(t, afters[1], "behind the slow commit")
			require.NotNil(t, afters[2], "behind the one behind it")
			require.NotSame(t, afters[1], afters[2])
			if !tc.open {
				q.mu.Lock()
				reads := q.reads
				q.mu.Unlock()
				require.Zero(t, reads, "read the alerts of an incident the chain opened")
			}
			close(release)
			for range tc.keys {
				require.NoError(t, <-errs)
			}
			g, err := q.Group(ctx, "g", all)
			require.NoError(t, err)
			require.Equal(t, uint64(len(all)), g.Version)
			require.Equal(t, len(all), g.Open.AlertCount)
			require.Len(t, g.Alerts, len(all))
		})
	}
}

// TestAnsweredOnceDurable: a sender whose commit is durable is answered
// then, by the store, not once the goroutine that chains the group's
// commits comes to land it: here that one is held queueing the next.
func TestAnsweredOnceDurable(t *testing.T) {
	q := newQueueing(t)
	p := openedOn(t, q)
	ctx := t.Context()

	first := q.slowNext()
	errs := make(chan error, 3)
	go func() { errs <- p.Accept(ctx, []klaxon.Alert{firing("am/2", nil)}) }() // chains the group's commits
	q.awaitQueued(t, 1)
	second := q.slowNext()
	third := make(chan error, 1)
	go func() { third <- p.Accept(ctx, []klaxon.Alert{firing("am/3", nil)}) }()
	q.awaitQueued(t, 1, "am/3's commit is queued behind am/2's")
	q.holdNext()
	go func() { errs <- p.Accept(ctx, []klaxon.Alert{firing("am/4", nil)}) }()
	<-q.held
	close(second)
	select {
	case err := <-third:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("am/3 was not answered once its commit was durable")
	}
	close(q.release)
	close(first)
	for range 2 {
		require.NoError(t, <-errs)
	}
}

// TestFailedChainLeavesNothingBehind: a chained commit that could not be
// queued leaves the deliveries it folded to be folded again on the group
// as stored, never taken for written: each sender answered has its alert
// in the store.
func TestFailedChainLeavesNothingBehind(t *testing.T) {
	q := newQueueing(t)
	p := openedOn(t, q)
	ctx := t.Context()

	release := q.slowNext()
	errs := make(chan error, 4)
	send := func(key string) { go func() { errs <- p.Accept(ctx, []klaxon.Alert{firing(key, nil)}) }() }
	send("am/2") // slow to land
	q.awaitQueued(t, 1)
	send("am/3") // chained behind it
	q.awaitQueued(t, 2)
	q.mu.Lock()
	q.failChained = true
	q.mu.Unlock()
	send("am/4") // folded on am/3's commit, then not queued
	q.awaitQueued(t, 3)
	send("am/5") // comes while the loop waits for the slow commit
	require.Eventually(t, func() bool { return p.Waiting("g") == 1 }, 10*time.Second, time.Millisecond)
	close(release)
	for range 4 {
		require.NoError(t, <-errs)
	}
	g, err := q.Group(ctx, "g", []string{"am/1", "am/2", "am/3", "am/4", "am/5"})
	require.NoError(t, err)
	require.Len(t, g.Alerts, 5, "every alert answered is stored")
	require.Equal(t, 5, g.Open.AlertCount)
}
