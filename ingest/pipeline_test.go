package ingest_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sync/errgroup"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/incident"
	"github.com/klaxonhq/klaxon/ingest"
	"github.com/klaxonhq/klaxon/internal/redistest"
	"github.com/klaxonhq/klaxon/store/embedded"
	"github.com/klaxonhq/klaxon/store/redis"
)

var t0 = time.Date(2026, 11, 26, 3, 0, 0, 0, time.UTC)

// oneGroup routes every alert into one group, or by its alertname label
// when it has one.
type oneGroup struct{}

func (oneGroup) Group(a *klaxon.Alert) (string, error) {
	return "g" + a.Labels["alertname"], nil
}

func (oneGroup) Labels(string) map[string]string { return nil }

func (oneGroup) Route(a *klaxon.Alert) (incident.Template, error) {
	return incident.Template{Group: "g" + a.Labels["alertname"], Policy: klaxon.Policy{Name: "p"}}, nil
}

// counting counts the commits that reach the store, and holds each until
// release is closed, so that deliveries pile up behind the first.
type counting struct {
	klaxon.Store
	commits atomic.Int64
	first   chan struct{}
	release chan struct{}
	once    sync.Once
}

// newCounting wraps st: its first commit waits for release.
func newCounting(st klaxon.Store) *counting {
	return &counting{Store: st, first: make(chan struct{}), release: make(chan struct{})}
}

func (c *counting) Commit(ctx context.Context, cm klaxon.Commit) error {
	c.commits.Add(1)
	c.once.Do(func() { close(c.first) })
	<-c.release
	return c.Store.Commit(ctx, cm)
}

func openEmbedded(tb testing.TB) klaxon.Store {
	tb.Helper()
	s, err := embedded.Open(filepath.Join(tb.TempDir(), "k.db"))
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = s.Close() })
	return s
}

// stores opens each store by name, for tests and benchmarks run on both.
var stores = map[string]func(testing.TB) klaxon.Store{"embedded": openEmbedded, "redis": openRedis}

func openRedis(tb testing.TB) klaxon.Store {
	tb.Helper()
	s, err := redis.Open(tb.Context(), redis.Options{Addrs: []string{redistest.Start(tb).Addr()}})
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = s.Close() })
	return s
}

func firing(key string, labels map[string]string) klaxon.Alert {
	return klaxon.Alert{Key: key, Integration: "am", Status: klaxon.Firing, Summary: "disk full", Labels: labels, StartsAt: t0}
}

// TestPipelineFoldsConcurrentDeliveries: while a commit of a group is in
// flight, deliveries to that group wait and then go in one commit; every
// sender is answered once its alerts are committed, and none is lost.
func TestPipelineFoldsConcurrentDeliveries(t *testing.T) {
	const senders = 40
	st := newCounting(openEmbedded(t))
	p := ingest.NewPipeline(st, func() ingest.Router { return oneGroup{} }, nil, func() time.Time { return t0 })

	var eg errgroup.Group
	eg.Go(func() error { return p.Accept(t.Context(), []klaxon.Alert{firing("am/first", nil)}) })
	<-st.first // the first commit is in flight; the rest queue behind it
	var answered atomic.Int64
	for i := range senders {
		eg.Go(func() error {
			err := p.Accept(t.Context(), []klaxon.Alert{firing(fmt.Sprintf("am/%d", i), nil)})
			answered.Add(1)
			return err
		})
	}
	require.Eventually(t, func() bool { return p.Waiting("g") == senders }, 10*time.Second, time.Millisecond)
	require.Zero(t, answered.Load(), "nobody is answered before the commit of their alerts")
	close(st.release)
	require.NoError(t, eg.Wait())
	require.Equal(t, int64(2), st.commits.Load(), "the first commit, then one for all who waited")

	g, err := st.Group(t.Context(), "g", nil)
	require.NoError(t, err)
	require.Equal(t, senders+1, g.Open.AlertCount)
	alerts, _, err := st.IncidentAlerts(t.Context(), g.Open.ID, "", 1000)
	require.NoError(t, err)
	require.Len(t, alerts, senders+1)
	events, err := klaxon.ReadTimeline(t.Context(), st, g.Open.ID)
	require.NoError(t, err)
	require.Len(t, events, senders+1, "triggered, then one alert_joined per sender")
}

// TestPipelineFoldIsBounded: on a store that takes one commit of a group
// at a time (Redis), the deliveries that waited are folded into commits
// of at most 500 alerts, in the order they came: one commit is one
// script, which holds the whole server while it runs. A body bigger than
// that is a commit of its own, whole.
func TestPipelineFoldIsBounded(t *testing.T) {
	st := &sized{counting: newCounting(openEmbedded(t))}
	p := ingest.NewPipeline(st, func() ingest.Router { return oneGroup{} }, nil, func() time.Time { return t0 })
	body := func(i, n int) []klaxon.Alert {
		alerts := make([]klaxon.Alert, n)
		for j := range alerts {
			alerts[j] = firing(fmt.Sprintf("am/%d-%d", i, j), nil)
		}
		return alerts
	}
	var eg errgroup.Group
	eg.Go(func() error { return p.Accept(t.Context(), body(0, 1)) })
	<-st.first // the first commit is in flight; the rest queue behind it
	sizes := []int{100, 100, 100, 100, 100, 100, 700, 100, 100}
	for i, n := range sizes {
		eg.Go(func() error { return p.Accept(t.Context(), body(i+1, n)) })
		require.Eventually(t, func() bool { return p.Waiting("g") == i+1 }, 10*time.Second, time.Millisecond) // in this order
	}
	close(st.release)
	require.NoError(t, eg.Wait())
	require.Equal(t, []int{1, 500, 100, 700, 200}, st.sizes())
	g, err := st.Group(t.Context(), "g", nil)
	require.NoError(t, err)
	require.Equal(t, 1501, g.Open.AlertCount)
}

// sized records how many alerts each commit changes.
type sized struct {
	*counting
	mu sync.Mutex
	n  []int
}

func (s *sized) Commit(ctx context.Context, c klaxon.Commit) error {
	s.mu.Lock()
	for _, inc := range c.Incidents {
		s.n = append(s.n, len(inc.Changed))
	}
	s.mu.Unlock()
	return s.counting.Commit(ctx, c)
}

func (s *sized) sizes() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.n)
}

// gated holds each commit that reaches the store until its gate, in
// order, is closed.
type gated struct {
	klaxon.Store
	mu      sync.Mutex
	n       int
	entered []chan struct{}
	gates   []chan struct{}
}

func newGated(s klaxon.Store, commits int) *gated {
	g := &gated{Store: s}
	for range commits {
		g.entered = append(g.entered, make(chan struct{}))
		g.gates = append(g.gates, make(chan struct{}))
	}
	return g
}

func (g *gated) Commit(ctx context.Context, c klaxon.Commit) error {
	g.mu.Lock()
	i := g.n
	g.n++
	g.mu.Unlock()
	close(g.entered[i])
	<-g.gates[i]
	return g.Store.Commit(ctx, c)
}

// TestSenderAnsweredBeforeTheNextCommit: a sender whose goroutine commits
// its group is answered once its own alerts land, not after the
// deliveries that queued behind it: another goroutine commits those.
func TestSenderAnsweredBeforeTheNextCommit(t *testing.T) {
	st := newGated(openEmbedded(t), 2)
	p := ingest.NewPipeline(st, func() ingest.Router { return oneGroup{} }, nil, func() time.Time { return t0 })
	ctx := t.Context()
	first, second := make(chan error, 1), make(chan error, 1)
	go func() { first <- p.Accept(ctx, []klaxon.Alert{firing("am/1", nil)}) }()
	<-st.entered[0]
	go func() { second <- p.Accept(ctx, []klaxon.Alert{firing("am/2", nil)}) }()
	require.Eventually(t, func() bool { return p.Waiting("g") == 1 }, 10*time.Second, time.Millisecond)
	close(st.gates[0])
	<-st.entered[1] // the second delivery's commit is in flight, held
	select {
	case err := <-first:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("the first sender waits for the commit of the second's alerts")
	}
	close(st.gates[1])
	require.NoError(t, <-second)
}

// TestPipelineFoldKeepsEachDelivery: deliveries folded into one commit
// act as if each had come alone. One resolves the incident's last alert,
// the next fires a new one: the incident resolves, and the new alert
// opens an incident of its own, indexed, that pages.
func TestPipelineFoldKeepsEachDelivery(t *testing.T) {
	st := newCounting(openEmbedded(t))
	p := ingest.NewPipeline(st, func() ingest.Router { return oneGroup{} }, nil, func() time.Time { return t0 })
	ctx := t.Context()
	var eg errgroup.Group
	eg.Go(func() error { return p.Accept(ctx, []klaxon.Alert{firing("am/x", nil)}) })
	<-st.first
	resolve := firing("am/x", nil)
	resolve.Status = klaxon.Resolved
	eg.Go(func() error { return p.Accept(ctx, []klaxon.Alert{resolve}) })
	require.Eventually(t, func() bool { return p.Waiting("g") == 1 }, 10*time.Second, time.Millisecond)
	eg.Go(func() error { return p.Accept(ctx, []klaxon.Alert{firing("am/y", nil)}) })
	require.Eventually(t, func() bool { return p.Waiting("g") == 2 }, 10*time.Second, time.Millisecond)
	close(st.release)
	require.NoError(t, eg.Wait())
	require.Equal(t, int64(2), st.commits.Load(), "the two that waited went in one commit")

	all, err := st.Incidents(ctx, klaxon.IncidentFilter{States: []klaxon.State{klaxon.StateTriggered, klaxon.StateResolved}})
	require.NoError(t, err)
	require.Len(t, all, 2)
	next, first := all[0], all[1]
	require.Equal(t, klaxon.StateResolved, first.State)
	require.Equal(t, klaxon.StateTriggered, next.State)
	require.Equal(t, 1, next.AlertCount)
	g, err := st.Group(ctx, "g", []string{"am/y"})
	require.NoError(t, err)
	require.Equal(t, next.ID, g.Open.ID)
	require.Contains(t, g.Alerts, "am/y")
	groups, err := st.AlertGroups(ctx, []string{"am/x", "am/y"})
	require.NoError(t, err)
	require.Equal(t, map[string]string{"am/y": "g"}, groups, "the new incident's alert stays indexed; the closed one's leaves")
	due, _, err := st.Claim(ctx, t0, time.Minute, 10)
	require.NoError(t, err)
	require.Len(t, due, 1, "the new incident pages")
	require.Equal(t, next.ID, due[0].Incident)
}

// TestPipelineFoldsReportsOfOneAlert: reports of one alert folded into
// one commit are stored as they add up, once, on both stores. The first
// case's alert is stored before; the fold changes it and back. The
// second's is new: a full report, then a bare resolve that says only
// that.
func TestPipelineFoldsReportsOfOneAlert(t *testing.T) {
	before := firing("am/x", map[string]string{"team": "a"})
	before.URL = "http://x"
	changed := firing("am/x", map[string]string{"team": "b"})
	changed.Summary = "disk fuller"
	bare := klaxon.Alert{Key: "am/x", Integration: "am", Status: klaxon.Resolved, Partial: true}
	resolved := before
	resolved.Status = klaxon.Resolved
	for _, tc := range []struct {
		name   string
		stored []klaxon.Alert // committed before the fold
		folded [][]klaxon.Alert
		want   klaxon.Alert // what am/x reads as after
	}{
		{"changed and back: the last report, written once", []klaxon.Alert{before}, [][]klaxon.Alert{{changed}, {before}}, before},
		{"a bare resolve keeps the report before it", nil, [][]klaxon.Alert{{before}, {bare}}, resolved},
	} {
		for name, open := range stores {
			t.Run(tc.name+"/"+name, func(t *testing.T) {
				st := newCounting(open(t))
				p := ingest.NewPipeline(st, func() ingest.Router { return oneGroup{} }, nil, func() time.Time { return t0 })
				ctx := t.Context()
				if tc.stored != nil {
					close(st.release)
					require.NoError(t, p.Accept(ctx, tc.stored))
					st.first, st.release, st.once = make(chan struct{}), make(chan struct{}), sync.Once{}
				}
				// A commit in flight, and the reports queued behind it.
				foldBehind(t, p, st, []klaxon.Alert{firing("am/y", nil)}, tc.folded)

				g, err := st.Group(ctx, "g", nil)
				require.NoError(t, err)
				alerts, _, err := st.IncidentAlerts(ctx, g.Open.ID, "", 10)
				require.NoError(t, err)
				require.Len(t, alerts, 2)
				got := alerts[0]
				require.Equal(t, "am/x", got.Key)
				require.Equal(t, tc.want.Status, got.Status)
				require.Equal(t, tc.want.Summary, got.Summary)
				require.Equal(t, tc.want.Labels, got.Labels)
				require.Equal(t, tc.want.URL, got.URL)
			})
		}
	}
}

// TestPipelineGroupsCommitApart: a body that spans groups commits each,
// and a failing group fails the body while the others stay committed.
func TestPipelineGroupsCommitApart(t *testing.T) {
	st := openEmbedded(t)
	p := ingest.NewPipeline(st, func() ingest.Router { return oneGroup{} }, nil, func() time.Time { return t0 })
	var body []klaxon.Alert
	for i := range 20 {
		body = append(body, firing(fmt.Sprintf("am/%d", i), map[string]string{"alertname": fmt.Sprint(i % 5)}))
	}
	require.NoError(t, p.Accept(t.Context(), body))
	list, err := st.Incidents(t.Context(), klaxon.IncidentFilter{})
	require.NoError(t, err)
	require.Len(t, list, 5)
	for _, inc := range list {
		require.Equal(t, 4, inc.AlertCount)
	}
}

// failing fails the commits of every group but keep, as a store
// whose disk is full for them does.
type failing struct {
	klaxon.Store
	keep string
}

func (f *failing) Commit(ctx context.Context, c klaxon.Commit) error {
	if c.Group == f.keep {
		return f.Store.Commit(ctx, c)
	}
	return fmt.Errorf("commit group %s: write the file: %w: %w", c.Group, klaxon.ErrUnavailable, syscall.ENOSPC)
}

// TestPipelineFailedGroupsSayWhyOnce: a body whose groups fail but one
// fails with the cause said once and the count of the other groups, so
// that a body of many groups on a full disk is not answered with a copy
// of the cause per group; every cause is still there for errors.Is, and
// the group that committed stays committed.
func TestPipelineFailedGroupsSayWhyOnce(t *testing.T) {
	st := openEmbedded(t)
	p := ingest.NewPipeline(&failing{Store: st, keep: "g0"}, func() ingest.Router { return oneGroup{} }, nil, func() time.Time { return t0 })
	var body []klaxon.Alert
	for i := range 20 {
		body = append(body, firing(fmt.Sprintf("am/%d", i), map[string]string{"alertname": fmt.Sprint(i % 5)}))
	}
	err := p.Accept(t.Context(), body)
	require.ErrorIs(t, err, klaxon.ErrUnavailable)
	require.ErrorIs(t, err, syscall.ENOSPC)
	msg := err.Error()
	require.Equal(t, 1, strings.Count(msg, "commit group"), msg)
	require.Equal(t, 1, strings.Count(msg, syscall.ENOSPC.Error()), msg)
	require.True(t, strings.HasSuffix(msg, " (and 3 more groups)"), msg)
	list, err := st.Incidents(t.Context(), klaxon.IncidentFilter{})
	require.NoError(t, err)
	require.Len(t, list, 1)
	require.Equal(t, "g0", list[0].Group)
}

// BenchmarkJoin adds one new alert per op to an incident that holds 10
// or 10,000 alerts already, through the pipeline and a store, as a storm
// that grows one incident does: the cost of a commit should follow the
// change, not the incident.
func BenchmarkJoin(b *testing.B) {
	for _, name := range []string{"embedded", "redis"} {
		for _, size := range []int{10, 10_000} {
			b.Run(fmt.Sprintf("%s/alerts=%d", name, size), func(b *testing.B) {
				st := stores[name](b)
				p := ingest.NewPipeline(st, func() ingest.Router { return oneGroup{} }, nil, func() time.Time { return t0 })
				ctx := b.Context()
				for from := 0; from < size; from += 1000 {
					var body []klaxon.Alert
					for i := from; i < min(from+1000, size); i++ {
						body = append(body, firing(fmt.Sprintf("am/seed-%d", i), nil))
					}
					require.NoError(b, p.Accept(ctx, body))
				}
				n := 0
				for b.Loop() {
					n++
					require.NoError(b, p.Accept(ctx, []klaxon.Alert{firing(fmt.Sprintf("am/new-%d", n), nil)}))
				}
			})
		}
	}
}

// BenchmarkNewOccurrences folds bodies of 100 alerts, each a new
// occurrence of alerts that an incident of 10,000 holds already, as a
// storm that keeps firing does: per op, one body read, folded and
// committed.
func BenchmarkNewOccurrences(b *testing.B) {
	for _, name := range []string{"embedded", "redis"} {
		b.Run(name, func(b *testing.B) {
			st := stores[name](b)
			p := ingest.NewPipeline(st, func() ingest.Router { return oneGroup{} }, nil, func() time.Time { return t0 })
			ctx := b.Context()
			const size, body = 10_000, 100
			labels := func(i int) map[string]string {
				return map[string]string{"alertname": "", "instance": fmt.Sprintf("10.0.%d.%d:9100", i/256, i%256), "job": "node", "severity": "warning"}
			}
			for from := 0; from < size; from += 1000 {
				var alerts []klaxon.Alert
				for i := from; i < from+1000; i++ {
					alerts = append(alerts, firing(fmt.Sprintf("am/%d", i), labels(i)))
				}
				require.NoError(b, p.Accept(ctx, alerts))
			}
			n := 0
			for b.Loop() {
				n++
				alerts := make([]klaxon.Alert, body)
				for j := range alerts {
					i := (n*body + j) % size
					alerts[j] = firing(fmt.Sprintf("am/%d", i), labels(i))
					alerts[j].StartsAt = t0.Add(time.Duration(n) * time.Second)
				}
				require.NoError(b, p.Accept(ctx, alerts))
			}
			b.ReportMetric(float64(n*body)/b.Elapsed().Seconds(), "alerts/s")
		})
	}
}

// TestPipelineWakesForTheGroup: a commit that makes a page due now wakes
// the engine with its group: one that opens an incident, and one that
// releases a held incident's page; one that only adds an alert does not.
func TestPipelineWakesForTheGroup(t *testing.T) {
	var mu sync.Mutex
	var woken []string
	wake := func(groups ...string) {
		mu.Lock()
		defer mu.Unlock()
		woken = append(woken, groups...)
	}
	took := func() []string {
		mu.Lock()
		defer mu.Unlock()
		out := woken
		woken = nil
		return out
	}
	p := ingest.NewPipeline(openEmbedded(t), func() ingest.Router { return oneGroup{} }, wake, func() time.Time { return t0 },
		ingest.WithMaintenance(heldByLabel))
	ctx := t.Context()
	held := map[string]string{"alertname": "A", "held": "yes"}

	require.NoError(t, p.Accept(ctx, []klaxon.Alert{firing("am/1", held)}))
	require.Equal(t, []string{"gA"}, took(), "opened, though its page is held")
	require.NoError(t, p.Accept(ctx, []klaxon.Alert{firing("am/2", held)}))
	require.Empty(t, took(), "one more held alert: no page is due")
	require.NoError(t, p.Accept(ctx, []klaxon.Alert{firing("am/3", map[string]string{"alertname": "A"})}))
	require.Equal(t, []string{"gA"}, took(), "an alert no window holds: the held page is due now")
	require.NoError(t, p.Accept(ctx, []klaxon.Alert{firing("am/4", map[string]string{"alertname": "A"})}))
	require.Empty(t, took())
}

// TestPipelineFoldIsOneByOne: deliveries folded into one commit leave
// the store as the same deliveries accepted one at a time do: the same
// incidents, alerts and timelines. Runs of deliveries that only fire
// fold into one Apply; a resolve between them must not, nor an alert that
// a maintenance window holds and the one that opens an incident.
func TestPipelineFoldIsOneByOne(t *testing.T) {
	held := firing("am/held", map[string]string{"held": "yes"})
	fire := func(key string, at int) klaxon.Alert {
		a := firing(key, nil)
		a.StartsAt = t0.Add(time.Duration(at) * time.Second)
		return a
	}
	resolve := func(key string) klaxon.Alert {
		a := firing(key, nil)
		a.Status = klaxon.Resolved
		return a
	}
	for _, tc := range []struct {
		name       string
		deliveries [][]klaxon.Alert
	}{
		{"new alerts join", [][]klaxon.Alert{{fire("am/a", 0)}, {fire("am/b", 0)}, {fire("am/a", 1), fire("am/c", 0)}, {fire("am/b", 0)}}},
		{"the last alert resolves, then one fires", [][]klaxon.Alert{{fire("am/b", 0)}, {resolve("am/gate"), resolve("am/b")}, {fire("am/c", 0)}, {fire("am/d", 0)}}},
		{"a resolve among fires", [][]klaxon.Alert{{fire("am/a", 0)}, {resolve("am/a")}, {fire("am/a", 2)}, {fire("am/b", 0)}, {resolve("am/gate")}}},
		{"everything resolves, again and again", [][]klaxon.Alert{{resolve("am/gate")}, {fire("am/a", 0)}, {fire("am/b", 0)}, {resolve("am/a"), resolve("am/b")}, {fire("am/a", 3)}}},
		{"a held alert opens, one no window holds joins", [][]klaxon.Alert{{resolve("am/gate")}, {held}, {fire("am/a", 0)}}},
		{"a held alert opens, two no window holds join", [][]klaxon.Alert{{resolve("am/gate")}, {held}, {fire("am/a", 0)}, {fire("am/b", 0)}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			gate := []klaxon.Alert{fire("am/gate", 0)}

			folded := newCounting(openEmbedded(t))
			p := ingest.NewPipeline(folded, func() ingest.Router { return oneGroup{} }, nil, func() time.Time { return t0 }, ingest.WithMaintenance(heldByLabel))
			foldBehind(t, p, folded, gate, tc.deliveries)
			require.Equal(t, int64(2), folded.commits.Load(), "the deliveries went in one commit")

			alone := openEmbedded(t)
			p = ingest.NewPipeline(alone, func() ingest.Router { return oneGroup{} }, nil, func() time.Time { return t0 }, ingest.WithMaintenance(heldByLabel))
			require.NoError(t, p.Accept(ctx, gate))
			for _, body := range tc.deliveries {
				require.NoError(t, p.Accept(ctx, body))
			}

			require.Equal(t, storeContents(t, alone), storeContents(t, folded))
		})
	}
}

// TestPipelineFoldKeepsHeldPages: an alert that changes nothing does not
// release a held page, folded with others or not. x opened an incident
// that a window held; the window stops holding x; x is seen again, as it
// was, and y, still held, joins: the page stays held.
func TestPipelineFoldKeepsHeldPages(t *testing.T) {
	ctx := t.Context()
	x := firing("am/x", map[string]string{"who": "x"})
	y := firing("am/y", map[string]string{"who": "y"})
	run := func(st klaxon.Store, folded bool) []string {
		var xFree atomic.Bool
		hold := func(lbls map[string]string, now time.Time) (string, time.Time, bool) {
			if lbls["who"] == "x" && xFree.Load() {
				return "", time.Time{}, false
			}
			return "deploy", now.Add(time.Hour), true
		}
		p := ingest.NewPipeline(st, func() ingest.Router { return oneGroup{} }, nil, func() time.Time { return t0 }, ingest.WithMaintenance(hold))
		require.NoError(t, p.Accept(ctx, []klaxon.Alert{x}))
		xFree.Store(true)
		if folded {
			c := newCounting(st)
			p = ingest.NewPipeline(c, func() ingest.Router { return oneGroup{} }, nil, func() time.Time { return t0 }, ingest.WithMaintenance(hold))
			foldBehind(t, p, c, []klaxon.Alert{firing("am/z", map[string]string{"who": "z"})}, [][]klaxon.Alert{{x}, {y}})
		} else {
			for _, body := range [][]klaxon.Alert{{firing("am/z", map[string]string{"who": "z"})}, {x}, {y}} {
				require.NoError(t, p.Accept(ctx, body))
			}
		}
		return storeContents(t, st)
	}
	alone := run(openEmbedded(t), false)
	require.NotContains(t, strings.Join(alone, "\n"), string(klaxon.EventEscalated), "one by one, the page stays held")
	require.Equal(t, alone, run(openEmbedded(t), true))
}

// heldByLabel is a maintenance window, "deploy", that holds for an hour
// the alerts labelled held=yes.
func heldByLabel(lbls map[string]string, now time.Time) (string, time.Time, bool) {
	return "deploy", now.Add(time.Hour), lbls["held"] == "yes"
}

// foldBehind accepts first, whose commit st holds, then bodies, each
// queued behind it in order, and releases the commit: bodies go in the
// group's next commit, together. The group is "g" (oneGroup).
func foldBehind(t *testing.T, p *ingest.Pipeline, st *counting, first []klaxon.Alert, bodies [][]klaxon.Alert) {
	t.Helper()
	var eg errgroup.Group
	eg.Go(func() error { return p.Accept(t.Context(), first) })
	<-st.first
	for i, body := range bodies {
		eg.Go(func() error { return p.Accept(t.Context(), body) })
		require.Eventually(t, func() bool { return p.Waiting("g") == i+1 }, 10*time.Second, time.Millisecond)
	}
	close(st.release)
	require.NoError(t, eg.Wait())
}

// storeContents lists every incident of st with its alerts and timeline.
func storeContents(t *testing.T, st klaxon.Store) []string {
	ctx := t.Context()
	all, err := st.Incidents(ctx, klaxon.IncidentFilter{States: []klaxon.State{klaxon.StateTriggered, klaxon.StateAcknowledged, klaxon.StateResolved}})
	require.NoError(t, err)
	var out []string
	for _, inc := range all {
		out = append(out, fmt.Sprintf("incident %s %s alerts %d firing %d", inc.ID, inc.State, inc.AlertCount, inc.FiringCount))
		alerts, _, err := st.IncidentAlerts(ctx, inc.ID, "", 100)
		require.NoError(t, err)
		for _, a := range alerts {
			out = append(out, fmt.Sprintf("  alert %s %s count %d starts %s", a.Key, a.Status, a.Count, a.StartsAt.Format(time.RFC3339)))
		}
		events, _, err := st.Timeline(ctx, inc.ID, 0, 100)
		require.NoError(t, err)
		for _, e := range events {
			out = append(out, fmt.Sprintf("  event %s %s %s", e.Kind, e.Alert, e.Text))
		}
	}
	return out
}

// keepOpen is oneGroup with auto_resolve off.
type keepOpen struct{ oneGroup }

func (keepOpen) Route(a *klaxon.Alert) (incident.Template, error) {
	tmpl, err := oneGroup{}.Route(a)
	tmpl.KeepOpen = true
	return tmpl, err
}

// TestAutoResolveOff: an incident whose route turned auto_resolve off
// stays open when its alerts resolve, though their resolves come by the
// alert index, which knows no route.
func TestAutoResolveOff(t *testing.T) {
	for name, open := range stores {
		t.Run(name, func(t *testing.T) {
			st := open(t)
			p := ingest.NewPipeline(st, func() ingest.Router { return keepOpen{} }, nil, func() time.Time { return t0 })
			a := firing("am/a", nil)
			require.NoError(t, p.Accept(t.Context(), []klaxon.Alert{a}))
			inc := openIncident(t, st, "g")
			a.Status = klaxon.Resolved
			require.NoError(t, p.Accept(t.Context(), []klaxon.Alert{a}))
			got, err := st.Incident(t.Context(), inc.ID)
			require.NoError(t, err)
			require.Equal(t, klaxon.StateTriggered, got.State, "it waits for a person")
			require.Zero(t, got.FiringCount)
			require.True(t, got.KeepOpen)
		})
	}
}

// TestMergedAlertsSentAgain: an alert of an incident merged into one
// still open, sent again as the same occurrence (an Alertmanager sends
// its group again), opens no incident and pages nobody: the target holds
// it. One the target does not hold (the merge stopped halfway) opens one,
// as does any once the target resolved, as after any resolve.
func TestMergedAlertsSentAgain(t *testing.T) {
	for name, open := range stores {
		t.Run(name, func(t *testing.T) {
			for _, targetResolved := range []bool{false, true} {
				t.Run(fmt.Sprintf("target resolved=%t", targetResolved), func(t *testing.T) {
					testMergedSentAgain(t, open(t), targetResolved)
				})
			}
		})
	}
}

// TestMergedWithoutStart: an alert whose source gives no start (a
// PagerDuty event) fires again after a resolve that reached no incident
// (its own closed as merged): the report cannot say it is the occurrence
// merged, and opens an incident, which pages.
func TestMergedWithoutStart(t *testing.T) {
	st := openEmbedded(t)
	ctx := t.Context()
	var opened []string
	p := ingest.NewPipeline(st, func() ingest.Router { return oneGroup{} }, func(groups ...string) { opened = append(opened, groups...) },
		func() time.Time { return t0.Add(time.Hour) })
	pd := firing("pd/a", map[string]string{"alertname": "disk"})
	pd.StartsAt = time.Time{}
	require.NoError(t, p.Accept(ctx, []klaxon.Alert{pd}))
	require.NoError(t, p.Accept(ctx, []klaxon.Alert{firing("am/b", map[string]string{"alertname": "cpu"})}))
	dst := openIncident(t, st, "gcpu")
	mergedInto(t, st, "gdisk", dst.ID, pd)

	gone := pd
	gone.Status = klaxon.Resolved
	require.NoError(t, p.Accept(ctx, []klaxon.Alert{gone}), "reaches no incident")
	require.NoError(t, p.Accept(ctx, []klaxon.Alert{pd}))
	openIncident(t, st, "gdisk")
	require.Equal(t, []string{"gdisk", "gcpu", "gdisk"}, opened)
}

// TestMergedAlertSentAgainAsSameOccurrence: an alert of an incident
// merged into one still open, reported again as the occurrence merged
// by incident.Apply's rule, is held by the target, and nothing opens or
// pages: with an earlier start (the other Prometheus of a pair:
// Alertmanager keeps the earliest), or as a renotification dated when it
// was sent (Datadog's Renotify, Alert.Repeat).
func TestMergedAlertSentAgainAsSameOccurrence(t *testing.T) {
	for name, open := range stores {
		t.Run(name+"/earlier start", func(t *testing.T) {
			early := firing("am/a", map[string]string{"alertname": "disk"})
			testMergedSameOccurrence(t, open(t), early)
		})
		t.Run(name+"/renotification", func(t *testing.T) {
			renotified := firing("am/a", map[string]string{"alertname": "disk"})
			renotified.StartsAt, renotified.Repeat = t0.Add(30*time.Minute), true
			testMergedSameOccurrence(t, open(t), renotified)
		})
	}
}

// testMergedSameOccurrence merges the incident of alert am/a, whose
// occurrence started at t0+10m, into another still open, then sends
// again, which must open nothing.
func testMergedSameOccurrence(t *testing.T, st klaxon.Store, again klaxon.Alert) {
	t.Helper()
	ctx := t.Context()
	var opened []string
	p := ingest.NewPipeline(st, func() ingest.Router { return oneGroup{} }, func(groups ...string) { opened = append(opened, groups...) },
		func() time.Time { return t0.Add(time.Hour) })
	early := firing("am/a", map[string]string{"alertname": "disk"})
	later := early
	later.StartsAt = t0.Add(10 * time.Minute) // a new occurrence, while the incident is open
	require.NoError(t, p.Accept(ctx, []klaxon.Alert{early}))
	require.NoError(t, p.Accept(ctx, []klaxon.Alert{later}))
	require.NoError(t, p.Accept(ctx, []klaxon.Alert{firing("am/b", map[string]string{"alertname": "cpu"})}))
	dst := openIncident(t, st, "gcpu")
	mergedInto(t, st, "gdisk", dst.ID, later)
	require.Equal(t, []string{"gdisk", "gcpu"}, opened)

	require.NoError(t, p.Accept(ctx, []klaxon.Alert{later}), "the occurrence merged, sent again")
	require.NoError(t, p.Accept(ctx, []klaxon.Alert{again}), "the same occurrence, reported again")
	g, err := st.Group(ctx, "gdisk", nil)
	require.NoError(t, err)
	require.Nil(t, g.Open, "the target holds the alert: no incident opens")
	require.Equal(t, []string{"gdisk", "gcpu"}, opened, "nothing pages again")
}

// mergedInto leaves group's open incident as escalate's Merge would into
// dst, with copies: dst holds them, and the incident is resolved, marked
// with where it went.
func mergedInto(t *testing.T, st klaxon.Store, group, dst string, copies ...klaxon.Alert) {
	t.Helper()
	ctx := t.Context()
	into, err := st.Incident(ctx, dst)
	require.NoError(t, err)
	require.NoError(t, klaxon.Update(ctx, st, into.Group, nil, func(g klaxon.Group) (*klaxon.Commit, error) {
		inc := incident.Clone(g.Open)
		for _, a := range copies {
			inc.Changed = append(inc.Changed, klaxon.AlertState{Alert: a, Count: 1, FirstSeen: t0, LastSeen: t0})
			inc.AlertCount++
		}
		return &klaxon.Commit{Open: inc.ID, Incidents: []*klaxon.Incident{inc}}, nil
	}))
	require.NoError(t, klaxon.Update(ctx, st, group, nil, func(g klaxon.Group) (*klaxon.Commit, error) {
		inc := incident.Clone(g.Open)
		incident.Resolve(inc, t0.Add(time.Hour), klaxon.Actor{By: "ops"})
		inc.Once = append(inc.Once, klaxon.MergingInto+dst)
		return &klaxon.Commit{Incidents: []*klaxon.Incident{inc}, Urgent: true}, nil
	}))
}

func testMergedSentAgain(t *testing.T, st klaxon.Store, targetResolved bool) {
	ctx := t.Context()
	var opened []string
	p := ingest.NewPipeline(st, func() ingest.Router { return oneGroup{} }, func(groups ...string) { opened = append(opened, groups...) },
		func() time.Time { return t0.Add(time.Hour) })
	diskA, diskC := firing("am/a", map[string]string{"alertname": "disk"}), firing("am/c", map[string]string{"alertname": "disk"})
	require.NoError(t, p.Accept(ctx, []klaxon.Alert{diskA, diskC}))
	require.NoError(t, p.Accept(ctx, []klaxon.Alert{firing("am/b", map[string]string{"alertname": "cpu"})}))
	src, dst := openIncident(t, st, "gdisk"), openIncident(t, st, "gcpu")
	// dst holds a copy of am/a, and not of am/c: the merge stopped
	// halfway, and nobody asked again.
	mergedInto(t, st, "gdisk", dst.ID, diskA)
	if targetResolved {
		require.NoError(t, klaxon.Update(ctx, st, "gcpu", nil, func(g klaxon.Group) (*klaxon.Commit, error) {
			inc := incident.Clone(g.Open)
			incident.Resolve(inc, t0.Add(time.Hour), klaxon.Actor{By: "ops"})
			return &klaxon.Commit{Incidents: []*klaxon.Incident{inc}, Urgent: true}, nil
		}))
	}
	require.Equal(t, []string{"gdisk", "gcpu"}, opened)

	require.NoError(t, p.Accept(ctx, []klaxon.Alert{diskA, diskC}), "sent again, and accepted")
	again := openIncident(t, st, "gdisk")
	require.NotEqual(t, src.ID, again.ID)
	require.Equal(t, []string{"gdisk", "gcpu", "gdisk"}, opened, "pages once")
	held, _, err := st.IncidentAlerts(ctx, again.ID, "", 10)
	require.NoError(t, err)
	var keys []string
	for _, a := range held {
		keys = append(keys, a.Key)
	}
	if targetResolved {
		require.Equal(t, []string{"am/a", "am/c"}, keys, "the target resolved: both")
	} else {
		require.Equal(t, []string{"am/c"}, keys, "only what the target does not hold")
	}
}

// TestLateToIncidentClosedInFold: deliveries that waited together fold
// into one commit: one resolves the incident, and the next, a report
// late to it, opens nothing.
func TestLateToIncidentClosedInFold(t *testing.T) {
	st := newCounting(openEmbedded(t))
	close(st.release)
	labels := map[string]string{"alertname": "disk"}
	at := func(key string, status klaxon.Status, start time.Time) klaxon.Alert {
		a := firing(key, labels)
		a.Status, a.StartsAt = status, start
		return a
	}
	now := func() time.Time { return t0.Add(4 * time.Hour) }
	ctx := t.Context()
	p := ingest.NewPipeline(st, func() ingest.Router { return oneGroup{} }, nil, now)
	require.NoError(t, p.Accept(ctx, []klaxon.Alert{at("am/a", klaxon.Firing, t0.Add(time.Hour))}))
	first := openIncident(t, st, "gdisk")

	held := newCounting(st.Store)
	p = ingest.NewPipeline(held, func() ingest.Router { return oneGroup{} }, nil, now)
	var eg errgroup.Group
	eg.Go(func() error { return p.Accept(ctx, []klaxon.Alert{at("am/b", klaxon.Firing, t0.Add(time.Hour))}) })
	<-held.first
	eg.Go(func() error {
		return p.Accept(ctx, []klaxon.Alert{at("am/a", klaxon.Resolved, t0.Add(time.Hour)), at("am/b", klaxon.Resolved, t0.Add(time.Hour))})
	})
	require.Eventually(t, func() bool { return p.Waiting("gdisk") == 1 }, 10*time.Second, time.Millisecond)
	eg.Go(func() error { return p.Accept(ctx, []klaxon.Alert{at("am/a", klaxon.Firing, t0)}) })
	require.Eventually(t, func() bool { return p.Waiting("gdisk") == 2 }, 10*time.Second, time.Millisecond)
	close(held.release)
	require.NoError(t, eg.Wait())
	require.Equal(t, int64(2), held.commits.Load(), "the resolve and the late report in one commit")

	inc, err := st.Incident(ctx, first.ID)
	require.NoError(t, err)
	require.Equal(t, klaxon.StateResolved, inc.State)
	g, err := st.Group(ctx, "gdisk", nil)
	require.NoError(t, err)
	require.Nil(t, g.Open, "the late report opened nothing")
}

// lostReply lands the first commit that resolves an incident, then
// answers it with an error, as Redis does when its reply is lost.
type lostReply struct {
	klaxon.Store
	lost atomic.Bool
}

func (s *lostReply) Commit(ctx context.Context, c klaxon.Commit) error {
	if err := s.Store.Commit(ctx, c); err != nil {
		return err
	}
	for _, inc := range c.Incidents {
		if inc.State == klaxon.StateResolved && s.lost.CompareAndSwap(false, true) {
			return fmt.Errorf("commit group %s: connection reset: %w", c.Group, klaxon.ErrUnavailable)
		}
	}
	return nil
}

// TestPipelineUnsureResolve: an alert's resolve, which resolves its
// incident, lands on Redis and loses its reply. The sender's retry finds
// it resolved and commits nothing, so nothing is handed to Committed:
// the incident goes to Unsure, for a chat message to read it again.
func TestPipelineUnsureResolve(t *testing.T) {
	st := &lostReply{Store: openRedis(t)}
	var mu sync.Mutex
	var committed, unsure []string
	tell := func(to *[]string) func([]*klaxon.Incident) {
		return func(incs []*klaxon.Incident) {
			mu.Lock()
			defer mu.Unlock()
			for _, inc := range incs {
				*to = append(*to, string(inc.State))
			}
		}
	}
	p := ingest.NewPipeline(st, func() ingest.Router { return oneGroup{} }, nil, func() time.Time { return t0 },
		ingest.WithCommitted(tell(&committed)), ingest.WithUnsure(tell(&unsure)))
	require.NoError(t, p.Accept(t.Context(), []klaxon.Alert{firing("am/1", nil)}))
	resolve := firing("am/1", nil)
	resolve.Status = klaxon.Resolved
	require.ErrorIs(t, p.Accept(t.Context(), []klaxon.Alert{resolve}), klaxon.ErrUnavailable)
	require.NoError(t, p.Accept(t.Context(), []klaxon.Alert{resolve}))
	mu.Lock()
	defer mu.Unlock()
	require.Equal(t, []string{"triggered"}, committed)
	require.Equal(t, []string{"resolved"}, unsure)
}
