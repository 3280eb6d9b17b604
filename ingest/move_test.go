package ingest_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/incident"
	"github.com/klaxonhq/klaxon/ingest"
	"github.com/klaxonhq/klaxon/internal/fakeclock"
	"github.com/klaxonhq/klaxon/internal/redistest"
	"github.com/klaxonhq/klaxon/store/redis"
)

// prefixed routes an alert into the group of its alertname under a prefix
// that a test changes, as a reload that changes the routes does.
type prefixed struct{ prefix *atomic.Value }

func (r prefixed) Group(a *klaxon.Alert) (string, error) {
	return r.prefix.Load().(string) + a.Labels["alertname"], nil
}

func (prefixed) Labels(string) map[string]string { return nil }

func (r prefixed) Route(a *klaxon.Alert) (incident.Template, error) {
	g, _ := r.Group(a)
	return incident.Template{Group: g, Policy: klaxon.Policy{Name: "p"}}, nil
}

// moveRig is a pipeline whose routes a test changes, as a reload does:
// alerts am/a and am/b fire in the incident left, of group old-disk.
type moveRig struct {
	p      *ingest.Pipeline
	prefix *atomic.Value
	clock  *fakeclock.Clock
	a, b   klaxon.Alert
	left   *klaxon.Incident
}

func newMoveRig(t *testing.T, st klaxon.Store) *moveRig {
	t.Helper()
	r := &moveRig{prefix: &atomic.Value{}, clock: fakeclock.New(t0)}
	r.prefix.Store("old-")
	r.p = ingest.NewPipeline(st, r.router, nil, r.clock.Now)
	labels := map[string]string{"alertname": "disk"}
	r.a, r.b = firing("am/a", labels), firing("am/b", labels)
	require.NoError(t, r.p.Accept(t.Context(), []klaxon.Alert{r.a, r.b}))
	r.left = openIncident(t, st, "old-disk")
	return r
}

func (r *moveRig) router() ingest.Router { return prefixed{r.prefix} }

// regroup routes the alerts into the groups of prefix from now on, and
// moves the clock to Alertmanager's next notification: the same
// occurrences, reported again.
func (r *moveRig) regroup(prefix string) {
	r.prefix.Store(prefix)
	r.clock.Add(2 * time.Minute)
}

// TestRouteChangeMovesAlerts: a firing alert whose group changes opens or
// joins an incident of its new group, and is resolved in the incident it
// left, which resolves once none of its alerts fires: it is not left
// open, holding alerts whose resolves now go elsewhere.
func TestRouteChangeMovesAlerts(t *testing.T) {
	for name, open := range stores {
		t.Run(name, func(t *testing.T) {
			st := open(t)
			ctx := t.Context()
			r := newMoveRig(t, st)
			a, b, left := r.a, r.b, r.left

			r.regroup("new-")
			require.NoError(t, r.p.Accept(ctx, []klaxon.Alert{a}))
			joined := openIncident(t, st, "new-disk")
			require.NotEqual(t, left.ID, joined.ID)
			inc, err := st.Incident(ctx, left.ID)
			require.NoError(t, err)
			require.Equal(t, klaxon.StateTriggered, inc.State, "am/b still fires there")
			require.Equal(t, 1, inc.FiringCount)
			events, _, err := st.Timeline(ctx, left.ID, 0, 10)
			require.NoError(t, err)
			last := events[len(events)-1]
			require.Equal(t, klaxon.EventAlertResolved, last.Kind)
			require.Equal(t, "am/a", last.Alert)
			require.Equal(t, "moved to incident "+joined.ID+": disk full", last.Text)

			require.NoError(t, r.p.Accept(ctx, []klaxon.Alert{b}))
			inc, err = st.Incident(ctx, left.ID)
			require.NoError(t, err)
			require.Equal(t, klaxon.StateResolved, inc.State, "none of its alerts fires there any more")
			g, err := st.Group(ctx, "new-disk", []string{"am/a", "am/b"})
			require.NoError(t, err)
			require.Equal(t, joined.ID, g.Open.ID)
			require.Equal(t, 2, g.Open.FiringCount)

			// Their resolves go where they fire now.
			a.Status, b.Status = klaxon.Resolved, klaxon.Resolved
			require.NoError(t, r.p.Accept(ctx, []klaxon.Alert{a, b}))
			inc, err = st.Incident(ctx, joined.ID)
			require.NoError(t, err)
			require.Equal(t, klaxon.StateResolved, inc.State)
		})
	}
}

// TestMoveBackAndForth: an alert that moves from one group to another
// and back (a reload rolled back), then resolves, leaves no incident
// open: firing again where it was resolved as moved, it is indexed there
// again, and resolved where it had gone.
func TestMoveBackAndForth(t *testing.T) {
	for name, open := range stores {
		t.Run(name, func(t *testing.T) {
			st := open(t)
			ctx := t.Context()
			r := newMoveRig(t, st)
			a, b := r.a, r.b

			r.regroup("new-")
			require.NoError(t, r.p.Accept(ctx, []klaxon.Alert{a}))
			joined := openIncident(t, st, "new-disk")

			r.regroup("old-")
			require.NoError(t, r.p.Accept(ctx, []klaxon.Alert{a}))
			inc, err := st.Incident(ctx, joined.ID)
			require.NoError(t, err)
			require.Equal(t, klaxon.StateResolved, inc.State, "its only alert went back")

			r.clock.Add(2 * time.Minute)
			a.Status, b.Status = klaxon.Resolved, klaxon.Resolved
			require.NoError(t, r.p.Accept(ctx, []klaxon.Alert{a, b}))
			inc, err = st.Incident(ctx, r.left.ID)
			require.NoError(t, err)
			require.Equal(t, klaxon.StateResolved, inc.State, "every alert resolved (firing %d)", inc.FiringCount)
		})
	}
}

// holdGroup holds the commits of one group until release is closed.
type holdGroup struct {
	klaxon.Store
	group   string
	held    chan struct{}
	release chan struct{}
}

func (h *holdGroup) Commit(ctx context.Context, c klaxon.Commit) error {
	if c.Group == h.group {
		select {
		case h.held <- struct{}{}:
		default:
		}
		<-h.release
	}
	return h.Store.Commit(ctx, c)
}

// TestMoveSenderGone: a sender that gives up while the commit that moves
// its alert is slow (the commit goes on, and lands) is not there to
// resolve the alert where it was, and its retry finds the alert where it
// is now: the move is made all the same.
func TestMoveSenderGone(t *testing.T) {
	for name, open := range stores {
		t.Run(name, func(t *testing.T) {
			inner := open(t)
			st := &holdGroup{Store: inner, group: "new-disk", held: make(chan struct{}, 1), release: make(chan struct{})}
			ctx := t.Context()
			r := newMoveRig(t, st)

			r.regroup("new-")
			sctx, cancel := context.WithCancel(ctx)
			errc := make(chan error, 1)
			// A body of two groups: the held one commits on a goroutine
			// of its own.
			go func() {
				errc <- r.p.Accept(sctx, []klaxon.Alert{r.a, firing("am/c", map[string]string{"alertname": "cpu"})})
			}()
			<-st.held
			cancel() // the sender's timeout
			require.ErrorIs(t, <-errc, context.Canceled)
			close(st.release)
			require.Eventually(t, func() bool {
				inc, err := inner.Incident(ctx, r.left.ID)
				return err == nil && inc.FiringCount == 1
			}, 10*time.Second, time.Millisecond, "am/a moved: only am/b fires in the incident it left")
		})
	}
}

// raced is one replica's store: its first commit of group writes its
// entries ahead, then other runs (the other replica commits the same
// group), then its script runs, on a version the group is no longer at.
type raced struct {
	klaxon.Store
	group string
	other func()
	once  sync.Once
}

func (r *raced) Commit(ctx context.Context, c klaxon.Commit) error {
	first := false
	r.once.Do(func() { first = c.Group == r.group })
	if !first {
		return r.Store.Commit(ctx, c)
	}
	c.Version += 100
	err := r.Store.Commit(ctx, c)
	r.other()
	return err
}

// TestMoveTwoReplicasCluster: Alertmanager's HA pair send the same
// notification to two replicas on one Redis Cluster, for an alert whose
// group changed. Replica 1 writes its entries ahead first; replica 2
// finds them naming its group, and lands; replica 1 loses the race and
// then has nothing to write. Replica 1 was told of the move, and makes
// it.
func TestMoveTwoReplicasCluster(t *testing.T) {
	c := redistest.StartCluster(t, 3)
	openStore := func() klaxon.Store {
		s, err := redis.Open(t.Context(), redis.Options{Addrs: c.Addrs(), Prefix: "two"})
		require.NoError(t, err)
		t.Cleanup(func() { _ = s.Close() })
		return s
	}
	s1, s2 := openStore(), openStore()
	ctx := t.Context()
	r2 := newMoveRig(t, s2) // replica 2's pipeline

	r2.regroup("new-")
	r1 := &raced{Store: s1, group: "new-disk", other: func() { require.NoError(t, r2.p.Accept(ctx, []klaxon.Alert{r2.a})) }}
	p1 := ingest.NewPipeline(r1, r2.router, nil, r2.clock.Now)
	require.NoError(t, p1.Accept(ctx, []klaxon.Alert{r2.a}))
	openIncident(t, s2, "new-disk")
	inc, err := s2.Incident(ctx, r2.left.ID)
	require.NoError(t, err)
	require.Equal(t, 1, inc.FiringCount, "am/a moved: only am/b fires in the incident it left")
}

// openIncident returns the header of group's open incident.
func openIncident(t *testing.T, st klaxon.Store, group string) *klaxon.Incident {
	t.Helper()
	g, err := st.Group(context.Background(), group, nil)
	require.NoError(t, err)
	require.NotNil(t, g.Open, "group %s has an open incident", group)
	return g.Open
}

// spoilGroup spoils the commits of one group while armed: each is sent
// at a version the group is not at, so that it writes its entries ahead
// (on a cluster) and then loses its race.
type spoilGroup struct {
	klaxon.Store
	group string
	armed atomic.Bool
}

func (s *spoilGroup) Commit(ctx context.Context, c klaxon.Commit) error {
	if c.Group == s.group && s.armed.Load() {
		c.Version += 100
	}
	return s.Store.Commit(ctx, c)
}

// firingIn is how many alerts fire in incident id.
func firingIn(t *testing.T, st klaxon.Store, id string) int {
	t.Helper()
	inc, err := st.Incident(t.Context(), id)
	require.NoError(t, err)
	return inc.FiringCount
}

// leaveOwed regroups the alerts into new- groups and reports am/a, whose
// resolve in the incident it left st fails: the move is left owed.
func (r *moveRig) leaveOwed(t *testing.T, st *spoilGroup) {
	t.Helper()
	r.regroup("new-")
	st.armed.Store(true)
	defer st.armed.Store(false)
	require.NoError(t, r.p.Accept(t.Context(), []klaxon.Alert{r.a}), "the sender's alerts are committed")
}

// sweep runs a sweep of a new pipeline on st, as a process started
// after a crash does, at once and again once the moves owed are its to
// make: it checks that the first makes no move, and returns once the
// second is done.
func (r *moveRig) sweep(t *testing.T, st klaxon.Store) {
	t.Helper()
	p := ingest.NewPipeline(st, nil, nil, r.clock.Now)
	firing := firingIn(t, st, r.left.ID)
	p.MakeOwed(t.Context())
	require.Equal(t, firing, firingIn(t, st, r.left.ID), "a move owed for less than a minute is its sender's to make")
	r.clock.Add(time.Minute + time.Second)
	p.MakeOwed(t.Context())
}

// TestMoveOwed: the resolve that a move owes in the incident it left
// fails (the store cannot write it, or the process dies before it). The
// store kept the move owed with the commit that made it, so a sweep of
// Run makes it later, in any process.
func TestMoveOwed(t *testing.T) {
	for name, open := range stores {
		t.Run(name, func(t *testing.T) {
			st := &spoilGroup{Store: open(t), group: "old-disk"}
			ctx := t.Context()
			r := newMoveRig(t, st)
			r.leaveOwed(t, st)
			joined := openIncident(t, st, "new-disk")
			require.Equal(t, 2, firingIn(t, st, r.left.ID), "the resolve where am/a was failed")
			owed, err := st.OwedMoves(ctx, r.clock.Now().Add(time.Second), 10)
			require.NoError(t, err)
			require.Equal(t, []klaxon.Move{{Alert: "am/a", From: "old-disk", Group: "new-disk", To: joined.ID, At: r.clock.Now()}}, owed)

			r.sweep(t, st)
			require.Equal(t, 1, firingIn(t, st, r.left.ID), "am/a resolved where it was")
			events, _, err := st.Timeline(ctx, r.left.ID, 0, 10)
			require.NoError(t, err)
			require.Equal(t, "moved to incident "+joined.ID+": disk full", events[len(events)-1].Text)
			owed, err = st.OwedMoves(ctx, r.clock.Now(), 10)
			require.NoError(t, err)
			require.Empty(t, owed, "settled once made")
		})
	}
}

// TestMoveMadeSettles: a move its sender made is settled, and a sweep
// finds nothing owed.
func TestMoveMadeSettles(t *testing.T) {
	for name, open := range stores {
		t.Run(name, func(t *testing.T) {
			st := open(t)
			r := newMoveRig(t, st)
			r.regroup("new-")
			require.NoError(t, r.p.Accept(t.Context(), []klaxon.Alert{r.a}))
			require.Equal(t, 1, firingIn(t, st, r.left.ID))
			owed, err := st.OwedMoves(t.Context(), r.clock.Now().Add(time.Hour), 10)
			require.NoError(t, err)
			require.Empty(t, owed)
		})
	}
}

// TestMoveOwedRolledBack: a move is left owed, and before it is made the
// route is rolled back: the alert is reported again where it was, and
// fires there. The move is made backwards: the alert is resolved in the
// incident it had moved to, and its resolves go where it fires.
func TestMoveOwedRolledBack(t *testing.T) {
	for name, open := range stores {
		t.Run(name, func(t *testing.T) {
			st := &spoilGroup{Store: open(t), group: "old-disk"}
			ctx := t.Context()
			r := newMoveRig(t, st)
			r.leaveOwed(t, st)
			joined := openIncident(t, st, "new-disk")
			r.regroup("old-")
			require.NoError(t, r.p.Accept(ctx, []klaxon.Alert{r.a, r.b}))
			r.sweep(t, st)
			require.Equal(t, 2, firingIn(t, st, r.left.ID), "am/a fires where it is routed")
			inc, err := st.Incident(ctx, joined.ID)
			require.NoError(t, err)
			require.Equal(t, klaxon.StateResolved, inc.State, "am/a, its one alert, moved back")
			groups, err := st.AlertGroups(ctx, []string{"am/a"})
			require.NoError(t, err)
			require.Equal(t, map[string]string{"am/a": "old-disk"}, groups)
			owed, err := st.OwedMoves(ctx, r.clock.Now().Add(time.Hour), 10)
			require.NoError(t, err)
			require.Empty(t, owed, "both moves made, and settled")
		})
	}
}

// TestMoveWrittenAheadCluster: on a Redis Cluster, a commit that wrote
// its entries ahead, and so owed the move it found, loses every race and
// fails. The sender's retry, a new request, finds the entries naming its
// group and is told of no move: a sweep makes it. Unless the route was
// rolled back meanwhile, and the retry landed where the alert was: the
// move that never happened then changes nothing there.
func TestMoveWrittenAheadCluster(t *testing.T) {
	c := redistest.StartCluster(t, 3)
	for _, tt := range []struct {
		name, retryIn string
		after         time.Duration // from the attempt to the retry
		firing        int           // in the incident left, after the sweep
	}{
		{"retried where it moved", "new-", time.Second, 1},
		{"retried where it was", "old-", 2 * time.Minute, 2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s, err := redis.Open(t.Context(), redis.Options{Addrs: c.Addrs(), Prefix: tt.retryIn})
			require.NoError(t, err)
			t.Cleanup(func() { _ = s.Close() })
			st := &spoilGroup{Store: s, group: "new-disk"}
			ctx := t.Context()
			r := newMoveRig(t, st)

			r.regroup("new-")
			st.armed.Store(true)
			require.ErrorIs(t, r.p.Accept(ctx, []klaxon.Alert{r.a}), klaxon.ErrUnavailable, "lost every race")
			st.armed.Store(false)
			r.prefix.Store(tt.retryIn)
			r.clock.Add(tt.after)
			require.NoError(t, r.p.Accept(ctx, []klaxon.Alert{r.a}), "the sender's retry")
			require.Equal(t, 2, firingIn(t, st, r.left.ID), "the retry was told of no move")

			r.sweep(t, st)
			require.Equal(t, tt.firing, firingIn(t, st, r.left.ID))
		})
	}
}

// TestSweepUnindexes: a storm's incident closed through the pipeline
// leaves the index by the time its sender is answered; one whose close
// landed but whose unindexing a stopped process left owed leaves it at
// the next sweep.
func TestSweepUnindexes(t *testing.T) {
	ctx := t.Context()
	st := openEmbedded(t)
	p := ingest.NewPipeline(st, func() ingest.Router { return byGroupLabel{} }, nil, func() time.Time { return t0 })
	storm := func(group string, status klaxon.Status) []klaxon.Alert {
		alerts := make([]klaxon.Alert, 1_500)
		for i := range alerts {
			alerts[i] = firing(fmt.Sprintf("am/%s-%d", group, i), map[string]string{"group": group})
			alerts[i].Status = status
		}
		return alerts
	}
	indexed := func(alerts []klaxon.Alert) int {
		keys := make([]string, len(alerts))
		for i, a := range alerts {
			keys[i] = a.Key
		}
		groups, err := st.AlertGroups(ctx, keys)
		require.NoError(t, err)
		return len(groups)
	}

	require.NoError(t, p.Accept(ctx, storm("CPU", klaxon.Firing)))
	require.NoError(t, p.Accept(ctx, storm("CPU", klaxon.Resolved)))
	require.Zero(t, indexed(storm("CPU", klaxon.Firing)), "unindexed by the close")

	require.NoError(t, p.Accept(ctx, storm("Disk", klaxon.Firing)))
	g, err := st.Group(ctx, "{group=Disk}", nil)
	require.NoError(t, err)
	closed := *g.Open
	closed.State = klaxon.StateResolved
	q, err := st.(klaxon.CommitQueue).Queue(ctx, klaxon.Commit{Group: closed.Group, Version: g.Version, Incidents: []*klaxon.Incident{&closed}}, nil, nil)
	require.NoError(t, err)
	<-q.Done() // landed; its caller stops before Wait unindexes
	require.Equal(t, 1_500, indexed(storm("Disk", klaxon.Firing)), "owed")
	p.Sweep(ctx)
	require.Zero(t, indexed(storm("Disk", klaxon.Firing)), "made by the sweep")
}
