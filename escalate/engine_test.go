package escalate_test

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/escalate"
	"github.com/klaxonhq/klaxon/incident"
	"github.com/klaxonhq/klaxon/internal/fakeclock"
	"github.com/klaxonhq/klaxon/internal/syncbuf"
	"github.com/klaxonhq/klaxon/store/embedded"
)

// phone records pages as a person's devices would receive them.
type phone struct {
	mu    sync.Mutex
	pages []klaxon.Page
}

func (p *phone) Notify(_ context.Context, pg klaxon.Page) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.pages = append(p.pages, pg)
	return nil
}

func (p *phone) got() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for _, pg := range p.pages {
		out = append(out, pg.User.ID+"/"+pg.Via)
	}
	return out
}

type directory map[string]klaxon.User

func (d directory) User(id string) (klaxon.User, bool) { u, ok := d[id]; return u, ok }
func (d directory) OnCall(context.Context, string, time.Time) ([]string, error) {
	return nil, klaxon.ErrNotFound
}
func (d directory) Fallback() []string { return nil }

// newEngine returns an engine over a new embedded store, paging alice
// and bob to a phone, with o.
func newEngine(t *testing.T, o escalate.Options) (klaxon.Store, *phone, *escalate.Engine) {
	t.Helper()
	st, err := embedded.Open(filepath.Join(t.TempDir(), "k.db"))
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	dir := directory{"alice": alice, "bob": bob}
	ph := &phone{}
	return st, ph, escalate.New(st, ph, func() escalate.Directory { return dir }, slog.New(slog.DiscardHandler), o)
}

// openIncident commits a new incident with its first timer, as ingest does.
func openIncident(t testing.TB, st klaxon.Store, p klaxon.Policy, now time.Time) string {
	t.Helper()
	id, err := st.NextIncidentID(t.Context())
	require.NoError(t, err)
	r := incident.Apply(nil, nil, []klaxon.Alert{{Key: "am/1", Status: klaxon.Firing, Summary: "disk full"}}, now, incident.Template{Group: "g" + id, Policy: p})
	r.Incident.ID = id
	require.NoError(t, st.Commit(t.Context(), klaxon.Commit{Group: "g" + id, Open: id, Incidents: []*klaxon.Incident{r.Incident},
		Index: r.Index, Timers: []klaxon.Timer{{Incident: id, Group: "g" + id, Due: now}}}))
	return id
}

// TestEngine walks a policy on the fake clock of a synctest bubble: that
// nothing more is paged is seen after ten polls in which every goroutine
// of the bubble was left to run.
func TestEngine(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clk := fakeclock.New(t0)
		st, ph, e := newEngine(t, escalate.Options{Now: clk.Now, Poll: 5 * time.Millisecond})
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() { done <- e.Run(ctx) }()
		t.Cleanup(func() { cancel(); <-done })
		// tenPolls lets the engine poll ten times with nothing left to do.
		tenPolls := func() {
			time.Sleep(50 * time.Millisecond) // the bubble's clock
			synctest.Wait()
		}

		id := openIncident(t, st, twoSteps, t0)
		e.Wake()
		require.Eventually(t, func() bool { return len(ph.got()) >= 2 }, 10*time.Second, time.Millisecond)
		tenPolls()
		require.ElementsMatch(t, []string{"alice/sms", "alice/email"}, ph.got(), "pages go out concurrently, in any order")

		clk.Set(t0.Add(time.Minute))
		require.Eventually(t, func() bool { return len(ph.got()) >= 3 }, 10*time.Second, time.Millisecond)
		clk.Set(t0.Add(5 * time.Minute))
		require.Eventually(t, func() bool { return len(ph.got()) >= 4 }, 10*time.Second, time.Millisecond)
		tenPolls()
		require.ElementsMatch(t, []string{"alice/sms", "alice/email", "alice/voice", "bob/email"}, ph.got())
		// The walk's commits indexed whom it paged: a reply finds the incident.
		for _, user := range []string{"alice", "bob"} {
			paged, _, err := e.PagedTo(t.Context(), user, clk.Now())
			require.NoError(t, err)
			require.Len(t, paged, 1, user)
			require.Equal(t, id, paged[0].ID, user)
		}

		inc, err := e.Acknowledge(t.Context(), id, klaxon.Actor{By: "bob", How: "api"})
		require.NoError(t, err)
		require.Equal(t, klaxon.StateAcknowledged, inc.State)
		clk.Set(t0.Add(time.Hour))
		tenPolls()
		require.Len(t, ph.got(), 4, "no page after the acknowledgement")

		timeline, err := klaxon.ReadTimeline(t.Context(), st, id)
		require.NoError(t, err)
		var sent []string
		for _, ev := range timeline {
			if ev.Kind == klaxon.EventPageSent {
				sent = append(sent, ev.User+"/"+ev.Via)
			}
		}
		require.ElementsMatch(t, ph.got(), sent, "the timeline records each page once")
	})
}

// TestRunOnce walks a policy one turn at a time on a fake clock: each
// turn pages what is due and says when the next is; a turn just before
// that pages nothing.
func TestRunOnce(t *testing.T) {
	clk := fakeclock.New(t0)
	st, ph, e := newEngine(t, escalate.Options{Now: clk.Now})
	ctx := t.Context()
	turn := func(at time.Duration) time.Duration {
		t.Helper()
		clk.Set(t0.Add(at))
		next, err := e.RunOnce(ctx)
		require.NoError(t, err)
		if next.IsZero() {
			return -1
		}
		return next.Sub(t0)
	}

	id := openIncident(t, st, twoSteps, t0)
	require.Equal(t, time.Minute, turn(0), "alice's call is next")
	require.ElementsMatch(t, []string{"alice/sms", "alice/email"}, ph.got())
	require.Equal(t, time.Minute, turn(time.Minute-time.Nanosecond))
	require.Len(t, ph.got(), 2, "nothing before it is due")
	require.Equal(t, 5*time.Minute, turn(time.Minute), "then the second step")
	require.Equal(t, "alice/voice", ph.got()[2])
	turn(5 * time.Minute)
	require.Equal(t, []string{"alice/voice", "bob/email"}, ph.got()[2:])

	_, err := e.Acknowledge(ctx, id, klaxon.Actor{By: "bob", How: "api"})
	require.NoError(t, err)
	require.Equal(t, time.Duration(-1), turn(time.Hour), "nothing is due after the acknowledgement")
	require.Len(t, ph.got(), 4, "no page after it")
}

// TestEngineNoDuplicates opens many incidents at once while the engine
// runs, and checks that every notification is delivered exactly once,
// also after a hundred polls more (on a synctest bubble's clock, every
// goroutine left to run).
func TestEngineNoDuplicates(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st, ph, e := newEngine(t, escalate.Options{Poll: time.Millisecond})
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() { done <- e.Run(ctx) }()
		t.Cleanup(func() { cancel(); <-done })

		const n = 40
		var wg sync.WaitGroup
		for range n {
			wg.Go(func() {
				openIncident(t, st, twoSteps, time.Now())
				e.Wake()
			})
		}
		wg.Wait()
		// alice's sms and email are due at once; her call in a minute.
		require.Eventually(t, func() bool { return len(ph.got()) >= 2*n }, 20*time.Second, time.Millisecond)
		time.Sleep(100 * time.Millisecond) // the bubble's clock
		synctest.Wait()

		ph.mu.Lock()
		defer ph.mu.Unlock()
		seen := map[string]int{}
		for _, p := range ph.pages {
			seen[p.Incident+"/"+p.Via]++
		}
		require.Len(t, seen, 2*n)
		for k, c := range seen {
			require.Equal(t, 1, c, "%s paged %d times", k, c)
		}
	})
}

// TestEngineSnoozeBound: the engine refuses a snooze past its bound
// whoever asks, reading the bound at each snooze, so a reload applies;
// without one, the bound is seven days.
func TestEngineSnoozeBound(t *testing.T) {
	st, err := embedded.Open(filepath.Join(t.TempDir(), "k.db"))
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	dir := directory{"alice": alice, "bob": bob}
	quiet := slog.New(slog.DiscardHandler)
	who := klaxon.Actor{By: "alice", How: "sms"}

	e := escalate.New(st, &phone{}, func() escalate.Directory { return dir }, quiet, escalate.Options{Now: func() time.Time { return t0 }})
	id := openIncident(t, st, twoSteps, t0)
	_, err = e.Snooze(t.Context(), id, klaxon.DefaultMaxSnooze+time.Minute, who)
	require.ErrorIs(t, err, klaxon.ErrInvalid)
	require.ErrorContains(t, err, "a snooze lasts at most 7 days")
	inc, err := st.Incident(t.Context(), id)
	require.NoError(t, err)
	require.Equal(t, klaxon.StateTriggered, inc.State, "nothing was committed")

	var bound sync.Map
	bound.Store("max", time.Hour)
	e = escalate.New(st, &phone{}, func() escalate.Directory { return dir }, quiet, escalate.Options{Now: func() time.Time { return t0 },
		MaxSnooze: func() time.Duration { d, _ := bound.Load("max"); return d.(time.Duration) }})
	_, err = e.Snooze(t.Context(), id, 2*time.Hour, who)
	require.ErrorContains(t, err, "a snooze lasts at most 1h0m0s, got 2h0m0s")
	bound.Store("max", 3*time.Hour) // a reload
	inc, err = e.Snooze(t.Context(), id, 2*time.Hour, who)
	require.NoError(t, err)
	require.Equal(t, t0.Add(2*time.Hour), inc.SnoozedUntil)
}

// gate is a provider that holds every page until release is closed.
type gate struct {
	phone
	entered chan string // each page's incident, as it starts
	release chan struct{}
}

func (g *gate) Notify(ctx context.Context, pg klaxon.Page) error {
	g.entered <- pg.Incident
	select {
	case <-g.release:
	case <-ctx.Done():
		return ctx.Err()
	}
	return g.phone.Notify(ctx, pg)
}

// slowChannel runs an engine whose one email slot the first page holds
// until release is closed, on two incidents paging bob: first is the
// one whose page went out, second the one whose page waits for the
// slot. The engine works on st, the store wrapped by wrap (when not
// nil). stop ends the engine and returns Run's error.
type slowChannel struct {
	st            klaxon.Store
	e             *escalate.Engine
	g             *gate
	first, second string
	stop          func() error
}

func newSlowChannel(t *testing.T, log *slog.Logger, wrap func(klaxon.Store) klaxon.Store) *slowChannel {
	db, err := embedded.Open(filepath.Join(t.TempDir(), "k.db"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	var st klaxon.Store = db
	if wrap != nil {
		st = wrap(db)
	}
	dir := func() escalate.Directory { return directory{"bob": bob} }
	bobOnly := klaxon.Policy{Name: "b", Steps: []klaxon.Step{{Targets: []klaxon.Target{{Kind: klaxon.TargetUser, Name: "bob"}}, EscalateAfter: time.Hour}}}
	g := &gate{entered: make(chan string, 2), release: make(chan struct{})}
	e := escalate.New(st, g, dir, log, escalate.Options{Poll: time.Millisecond, PerChannel: 1})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error)
	go func() { done <- e.Run(ctx) }()

	ids := []string{openIncident(t, st, bobOnly, time.Now()), openIncident(t, st, bobOnly, time.Now())}
	e.Wake()
	sc := &slowChannel{st: st, e: e, g: g, first: <-g.entered, second: ids[0],
		stop: func() error { cancel(); return <-done }}
	if sc.second == sc.first {
		sc.second = ids[1]
	}
	synctest.Wait() // the other page waits for bob's email channel
	return sc
}

// paged reports whether incident id's timeline has a page sent.
func paged(t *testing.T, st klaxon.Store, id string) bool {
	timeline, err := klaxon.ReadTimeline(t.Context(), st, id)
	require.NoError(t, err)
	return slices.ContainsFunc(timeline, func(ev klaxon.Event) bool { return ev.Kind == klaxon.EventPageSent })
}

// TestAckWithdrawsWaitingPage: a page decided before its incident was
// acknowledged, still waiting for its channel (a slow provider, all
// slots busy), is not sent once it gets one.
func TestAckWithdrawsWaitingPage(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sc := newSlowChannel(t, slog.New(slog.DiscardHandler), nil)
		_, err := sc.e.Acknowledge(t.Context(), sc.second, klaxon.Actor{By: "bob", How: "api"})
		require.NoError(t, err)
		close(sc.g.release)
		time.Sleep(time.Minute)
		synctest.Wait()
		require.NoError(t, sc.stop())

		require.Equal(t, []string{"bob/email"}, sc.g.got(), "one page: the acknowledged incident's was not sent")
		require.Empty(t, sc.g.entered)
		require.False(t, paged(t, sc.st, sc.second))
	})
}

// downStore is a store that answers nothing while down, as a Redis
// that stopped; while unreadable, it reads no incident (it counts the
// tries in reads) and does all else, as a Redis Cluster whose node of
// the incident's key fails over while the group's node answers.
type downStore struct {
	klaxon.Store
	down, unreadable atomic.Bool
	reads            atomic.Int64
}

func (s *downStore) err() error {
	if s.down.Load() {
		return fmt.Errorf("dial: connection refused: %w", klaxon.ErrUnavailable)
	}
	return nil
}

func (s *downStore) Incident(ctx context.Context, id string) (*klaxon.Incident, error) {
	if s.unreadable.Load() {
		s.reads.Add(1)
		return nil, fmt.Errorf("read: %w", klaxon.ErrUnavailable)
	}
	if err := s.err(); err != nil {
		return nil, err
	}
	return s.Store.Incident(ctx, id)
}

func (s *downStore) Group(ctx context.Context, key string, alerts []string) (klaxon.Group, error) {
	if err := s.err(); err != nil {
		return klaxon.Group{}, err
	}
	return s.Store.Group(ctx, key, alerts)
}

func (s *downStore) Commit(ctx context.Context, c klaxon.Commit) error {
	if err := s.err(); err != nil {
		return err
	}
	return s.Store.Commit(ctx, c)
}

func (s *downStore) Claim(ctx context.Context, now time.Time, lease time.Duration, max int) ([]klaxon.Timer, time.Time, error) {
	if err := s.err(); err != nil {
		return nil, time.Time{}, err
	}
	return s.Store.Claim(ctx, now, lease, max)
}

func (s *downStore) Renew(ctx context.Context, now time.Time, lease time.Duration, timers []klaxon.Timer) ([]string, error) {
	if err := s.err(); err != nil {
		return nil, err
	}
	return s.Store.Renew(ctx, now, lease, timers)
}

// slowOnDownStore is newSlowChannel on a downStore.
func slowOnDownStore(t *testing.T) (*slowChannel, *downStore) {
	var ds *downStore
	sc := newSlowChannel(t, slog.New(slog.DiscardHandler), func(st klaxon.Store) klaxon.Store {
		ds = &downStore{Store: st}
		return ds
	})
	return sc, ds
}

// TestStoreDownLeavesPagesNotStarted: a page that gets its channel while
// the store does not answer is not sent (it could not be put on record,
// and the claim not renewed, so the next claim would send it again); it
// is sent once, by the next claim, after the store is back.
func TestStoreDownLeavesPagesNotStarted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sc, ds := slowOnDownStore(t)
		ds.down.Store(true)
		close(sc.g.release)
		time.Sleep(10 * time.Second)
		synctest.Wait()
		require.Equal(t, []string{"bob/email"}, sc.g.got(), "the page waiting for its channel was not sent")
		require.Empty(t, sc.g.entered)

		ds.down.Store(false)
		time.Sleep(time.Minute)
		synctest.Wait()
		require.NoError(t, sc.stop())
		require.Equal(t, []string{"bob/email", "bob/email"}, sc.g.got(), "each page once")
		require.Equal(t, sc.second, <-sc.g.entered)
		require.True(t, paged(t, sc.st, sc.first), "the page in flight at the outage is on record")
		require.True(t, paged(t, sc.st, sc.second))
	})
}

// TestPageToRemovedUser: a page decided for a user who is then removed
// from the users file (a reload) fails on the timeline and says so in
// the log.
func TestPageToRemovedUser(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st, err := embedded.Open(filepath.Join(t.TempDir(), "k.db"))
		require.NoError(t, err)
		defer st.Close()
		var dir atomic.Pointer[directory]
		dir.Store(&directory{"alice": alice})
		var logs syncbuf.Buffer
		ph := &phone{}
		e := escalate.New(st, ph, func() escalate.Directory { return *dir.Load() }, slog.New(slog.NewTextHandler(&logs, nil)), escalate.Options{Poll: time.Millisecond})
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- e.Run(ctx) }()
		id := openIncident(t, st, klaxon.Policy{Name: "a", Steps: []klaxon.Step{userStep("alice")}}, time.Now())
		e.Wake()
		time.Sleep(time.Second)
		synctest.Wait()
		require.ElementsMatch(t, []string{"alice/sms", "alice/email"}, ph.got(), "her voice call is due after a minute")
		dir.Store(&directory{})
		time.Sleep(time.Minute)
		synctest.Wait()
		cancel()
		require.NoError(t, <-done)

		require.Len(t, ph.got(), 2)
		require.Contains(t, logs.String(), `msg="page: unknown user, removed from the users file since the step paged" component=escalate incident=`+id+` user=alice channel=voice`)
		timeline, err := klaxon.ReadTimeline(t.Context(), st, id)
		require.NoError(t, err)
		require.True(t, slices.ContainsFunc(timeline, func(ev klaxon.Event) bool {
			return ev.Kind == klaxon.EventPageFailed && ev.Text == "unknown user alice"
		}))
	})
}

// TestUnreadableIncidentWaits: a page whose incident cannot be read
// just before it goes out, while commits go through, tries again a
// second later, not at once and again; it goes out once the read does.
func TestUnreadableIncidentWaits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sc, ds := slowOnDownStore(t)
		ds.unreadable.Store(true)
		close(sc.g.release)
		time.Sleep(10 * time.Second)
		synctest.Wait()
		require.Equal(t, []string{"bob/email"}, sc.g.got())
		require.LessOrEqual(t, ds.reads.Load(), int64(12), "about one read a second, not a spin")
		require.GreaterOrEqual(t, ds.reads.Load(), int64(5))

		ds.unreadable.Store(false)
		time.Sleep(5 * time.Second)
		synctest.Wait()
		require.NoError(t, sc.stop())
		require.Equal(t, []string{"bob/email", "bob/email"}, sc.g.got(), "sent once it could be read")
	})
}

// TestShutdownLeavesPagesNotStarted: when the engine stops, the page in
// flight finishes and is recorded, and a page still waiting for its
// channel is not sent: its claim is given up at once, so that the next
// start sends it without waiting out the lease. A slow provider holds a
// shutdown up for the pages in flight, not for all those claimed.
func TestShutdownLeavesPagesNotStarted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var logs syncbuf.Buffer
		sc := newSlowChannel(t, slog.New(slog.NewTextHandler(&logs, nil)), nil)
		stopped := make(chan error)
		go func() { stopped <- sc.stop() }()
		synctest.Wait()
		close(sc.g.release)
		require.NoError(t, <-stopped)
		require.Equal(t, []string{"bob/email"}, sc.g.got(), "the page waiting for its channel was not sent")
		require.Empty(t, sc.g.entered)
		require.Contains(t, logs.String(), `msg="stopped: pages left for the next start, or another replica" component=escalate pages=1`)
		require.True(t, paged(t, sc.st, sc.first), "the page in flight is on the timeline")

		// The next start, at the same moment: the other incident's timer
		// is due and unclaimed.
		ph2 := &phone{}
		e2 := escalate.New(sc.st, ph2, func() escalate.Directory { return directory{"bob": bob} }, slog.New(slog.DiscardHandler), escalate.Options{})
		_, err := e2.RunOnce(t.Context())
		require.NoError(t, err)
		require.Len(t, ph2.pages, 1, "sent at the next start, with no lease to wait out")
		require.Equal(t, sc.second, ph2.pages[0].Incident)
	})
}

// TestActOnResolved: an act a resolved incident refuses says so once,
// in words, and is a conflict (409 at the API).
func TestActOnResolved(t *testing.T) {
	st, _, e := newEngine(t, escalate.Options{})
	ctx := t.Context()
	id := openIncident(t, st, twoSteps, time.Now())
	_, err := e.Resolve(ctx, id, klaxon.Actor{By: "bob", How: "api"})
	require.NoError(t, err)
	_, err = e.Acknowledge(ctx, id, klaxon.Actor{By: "bob", How: "api"})
	require.ErrorIs(t, err, klaxon.ErrConflict)
	require.EqualError(t, err, "incident "+id+": cannot acknowledge: it is resolved")
}

// TestWalkCommitsTold: the walk's commits are handed on as the
// commands' are, with what they recorded: chat messages tell who was
// paged and when a step went on.
func TestWalkCommitsTold(t *testing.T) {
	clk := fakeclock.New(t0)
	var mu sync.Mutex
	var told []string
	st, _, e := newEngine(t, escalate.Options{Now: clk.Now, Committed: func(incs []*klaxon.Incident) {
		mu.Lock()
		defer mu.Unlock()
		for _, inc := range incs {
			for _, ev := range inc.Recorded {
				told = append(told, string(ev.Kind)+" "+ev.User)
			}
		}
	}})
	openIncident(t, st, twoSteps, t0)
	for _, at := range []time.Duration{0, time.Minute, 5 * time.Minute} {
		clk.Set(t0.Add(at))
		_, err := e.RunOnce(t.Context())
		require.NoError(t, err)
	}
	mu.Lock()
	defer mu.Unlock()
	require.Subset(t, told, []string{"page_sent alice", "escalated ", "page_sent bob"})
}

// TestFastRoundsQueueOneCall: a policy that repeats every 10 s pages
// alice by SMS at once and by voice after a minute. Each round's SMS goes
// out; the call each round asks for waits in the outbox as one call,
// which goes out a minute after the first round asked for it, not one
// call for every round that came meanwhile.
func TestFastRoundsQueueOneCall(t *testing.T) {
	clk := fakeclock.New(t0)
	st, ph, e := newEngine(t, escalate.Options{Now: clk.Now})
	fast := klaxon.Policy{Name: "fast", Repeat: 100, Steps: []klaxon.Step{
		{Targets: []klaxon.Target{{Kind: klaxon.TargetUser, Name: "alice"}}, EscalateAfter: 10 * time.Second},
	}}
	id := openIncident(t, st, fast, t0)
	for at := time.Duration(0); at <= 90*time.Second; at += 10 * time.Second {
		clk.Set(t0.Add(at))
		_, err := e.RunOnce(t.Context())
		require.NoError(t, err)
		inc, err := st.Incident(t.Context(), id)
		require.NoError(t, err)
		var calls int
		for _, n := range inc.Pending {
			if n.Via == klaxon.ViaVoice {
				calls++
			}
		}
		require.LessOrEqual(t, calls, 1, "at %v: %+v", at, inc.Pending)
	}
	var sms, voice int
	for _, p := range ph.got() {
		switch p {
		case "alice/sms":
			sms++
		case "alice/voice":
			voice++
		}
	}
	require.Equal(t, 10, sms, "one SMS a round")
	require.Equal(t, 1, voice, "one call, at 60 s; the next is due at 120 s")
}
