package escalate_test

import (
	"context"
	"errors"
	"fmt"
	"io"
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
	"github.com/klaxonhq/klaxon/store/embedded"
)

// slowPhones deliver each page after a delay on the test's clock, and
// record when each page started, by which engine.
type slowPhones struct {
	start time.Time
	delay func(klaxon.Page) time.Duration

	mu      sync.Mutex
	started []string // "<user>/<via> <seconds from start> <engine>"
	done    []string
}

// engine returns the phones as one engine's notifier (or channel).
func (p *slowPhones) engine(name string) *namedPhone { return &namedPhone{p, name} }

type namedPhone struct {
	p    *slowPhones
	name string
}

func (n *namedPhone) Notify(ctx context.Context, pg klaxon.Page) error { return n.Send(ctx, pg) }
func (n *namedPhone) Send(ctx context.Context, pg klaxon.Page) error {
	p := n.p
	key := pg.User.ID + "/" + pg.Via
	p.mu.Lock()
	p.started = append(p.started, fmt.Sprintf("%s %.0f %s", key, time.Since(p.start).Seconds(), n.name))
	p.mu.Unlock()
	t := time.NewTimer(p.delay(pg))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
	}
	p.mu.Lock()
	p.done = append(p.done, key)
	p.mu.Unlock()
	return nil
}

// pages returns the pages started and those delivered so far.
func (p *slowPhones) pages() (started, done []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.started...), append([]string(nil), p.done...)
}

// keys drops the times and engines of started pages.
func keys(started []string) []string {
	out := make([]string, len(started))
	for i, s := range started {
		var key string
		_, _ = fmt.Sscanf(s, "%s", &key)
		out[i] = key
	}
	return out
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// runEngine runs e until stop or the end of the test; stop returns
// Run's error, and may be called again.
func runEngine(t *testing.T, e *escalate.Engine) (stop func() error) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- e.Run(ctx) }()
	stop = sync.OnceValue(func() error {
		cancel()
		return <-done
	})
	t.Cleanup(func() { _ = stop() })
	return stop
}

func openStore(t testing.TB) *embedded.Store {
	st, err := embedded.Open(filepath.Join(t.TempDir(), "k.db"))
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	return st
}

// onePolicy pages alice, and nobody after her for an hour.
var onePolicy = klaxon.Policy{Name: "one", Steps: []klaxon.Step{
	{Targets: []klaxon.Target{{Kind: klaxon.TargetUser, Name: "alice"}}, EscalateAfter: time.Hour},
}}

// slowSMS is a provider whose SMS take 40 s, longer than twice a lease of
// 15 s; everything else goes at once.
func slowSMS() *slowPhones {
	return &slowPhones{start: time.Now(), delay: func(p klaxon.Page) time.Duration {
		if p.Via == klaxon.ViaSMS {
			return 40 * time.Second
		}
		return 0
	}}
}

// twoEngines makes engines a and b on one store, as two replicas on one
// Redis, paging alice through phones: a claims an incident as it starts,
// then only when woken; b polls every second.
func twoEngines(st klaxon.Store, phones *slowPhones) []*escalate.Engine {
	dir := directory{"alice": alice}
	var engines []*escalate.Engine
	for _, name := range []string{"a", "b"} {
		o := escalate.Options{Lease: 15 * time.Second}
		if name == "a" {
			o.Poll = time.Hour
		}
		engines = append(engines, escalate.New(st, phones.engine(name), func() escalate.Directory { return dir }, quiet, o))
	}
	return engines
}

// TestSlowPageKeepsClaim runs two engines on one store, as two replicas
// on one Redis, and pages alice's SMS through a provider that takes 40 s,
// longer than twice the lease. The engine that claimed the incident
// renews its claim while the SMS is in flight: the other never takes the
// incident over, and each of alice's rules pages once.
func TestSlowPageKeepsClaim(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := openStore(t)
		phones := slowSMS()
		engines := twoEngines(st, phones)
		// a claims the incident; then b runs too.
		openIncident(t, st, onePolicy, time.Now())
		runEngine(t, engines[0])
		synctest.Wait()
		runEngine(t, engines[1])

		time.Sleep(39 * time.Second)
		synctest.Wait()
		started, done := phones.pages()
		require.ElementsMatch(t, []string{"alice/sms", "alice/email"}, keys(started), "each page starts once: %v", started)
		require.Equal(t, []string{"alice/email"}, done)

		time.Sleep(2 * time.Minute) // the SMS is recorded; the call is due at 1m
		synctest.Wait()
		started, done = phones.pages()
		require.ElementsMatch(t, []string{"alice/sms", "alice/email", "alice/voice"}, keys(started), "each page starts once: %v", started)
		require.ElementsMatch(t, []string{"alice/sms", "alice/email", "alice/voice"}, done)
	})
}

// TestDeliveryReportDuringSlowPage has the other engine take a delivery
// report (alice's mail bounced) while the first still sends her slow SMS:
// her call becomes due at once. The incident stays with the engine that
// claimed it, which sees the call due and makes it while the SMS is still
// in flight; nothing is paged twice.
func TestDeliveryReportDuringSlowPage(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := openStore(t)
		phones := slowSMS()
		engines := twoEngines(st, phones)
		// a claims the incident; then b runs too.
		id := openIncident(t, st, onePolicy, time.Now())
		runEngine(t, engines[0])
		synctest.Wait()
		runEngine(t, engines[1])

		time.Sleep(5500 * time.Millisecond) // between two polls
		synctest.Wait()
		_, done := phones.pages()
		require.Equal(t, []string{"alice/email"}, done)
		// alice's rules are numbered in order: sms 1, voice 2, email 3.
		inc, err := st.Incident(t.Context(), id)
		require.NoError(t, err)
		require.Equal(t, []int{1, 2}, pendingIDs(inc), "the mail is recorded as it went out; the SMS is in flight")
		// The report reaches b, which wakes to claim the call now due.
		require.NoError(t, engines[1].Delivery(t.Context(), id, 3, false, "bounced"))

		time.Sleep(5 * time.Second) // 10.5 s in: the SMS is still in flight
		synctest.Wait()
		started, _ := phones.pages()
		require.Equal(t, []string{"alice/email 0 a", "alice/sms 0 a", "alice/voice 8 a"}, sortedStrings(started),
			"a, holding the incident, calls within half a margin of the report; nothing twice")

		time.Sleep(40 * time.Second)
		synctest.Wait()
		started, done = phones.pages()
		require.ElementsMatch(t, []string{"alice/sms", "alice/email", "alice/voice"}, keys(started), "nothing twice: %v", started)
		require.ElementsMatch(t, []string{"alice/sms", "alice/email", "alice/voice"}, done)
		inc, err = st.Incident(t.Context(), id)
		require.NoError(t, err)
		require.Empty(t, inc.Pending)
	})
}

func pendingIDs(inc *klaxon.Incident) []int {
	var out []int
	for _, n := range inc.Pending {
		out = append(out, n.ID)
	}
	return out
}

func sortedStrings(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return out
}

// renewless is a store whose Renew fails until a time: the store cannot
// be reached for renewals.
type renewless struct {
	klaxon.Store
	until time.Time
}

func (s *renewless) Renew(ctx context.Context, now time.Time, lease time.Duration, timers []klaxon.Timer) ([]string, error) {
	if time.Now().Before(s.until) {
		return nil, errors.New("store unreachable")
	}
	return s.Store.Renew(ctx, now, lease, timers)
}

// TestPageOnlyWhileClaimed sends alice's and bob's SMS through a channel
// that sends one at a time, 18 s each, while the claim cannot be renewed.
// Bob's SMS, waiting for the channel, is not sent once the claim is about
// to lapse: it waits for the next claim, and goes out once.
func TestPageOnlyWhileClaimed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := openStore(t)
		start := time.Now()
		phones := &slowPhones{start: start, delay: func(klaxon.Page) time.Duration { return 18 * time.Second }}
		smsOnly := func(id string) klaxon.User {
			return klaxon.User{ID: id, Notify: []klaxon.NotifyRule{{Via: klaxon.ViaSMS}}}
		}
		dir := directory{"alice": smsOnly("alice"), "bob": smsOnly("bob")}
		store := &renewless{Store: st, until: start.Add(25 * time.Second)}
		e := escalate.New(store, phones.engine("a"), func() escalate.Directory { return dir }, quiet, escalate.Options{Lease: 15 * time.Second, PerChannel: 1})
		runEngine(t, e)
		both := klaxon.Policy{Name: "both", Steps: []klaxon.Step{{Targets: []klaxon.Target{
			{Kind: klaxon.TargetUser, Name: "alice"}, {Kind: klaxon.TargetUser, Name: "bob"}}, EscalateAfter: time.Hour}}}
		id := openIncident(t, st, both, start)
		e.Wake()

		// The claim, taken at 0 s and never renewed, lasts to 15 s; the
		// engine gives it up at 10 s. Bob's SMS waits for alice's until
		// then, and then for the next claim.
		time.Sleep(17 * time.Second)
		synctest.Wait()
		started, _ := phones.pages()
		require.Len(t, started, 1, "one SMS at a time, and the second not under a claim about to lapse")
		require.Contains(t, started[0], "/sms 0 a")

		time.Sleep(time.Minute)
		synctest.Wait()
		started, done := phones.pages()
		require.ElementsMatch(t, []string{"alice/sms", "bob/sms"}, keys(started), "each once: %v", started)
		require.ElementsMatch(t, []string{"alice/sms", "bob/sms"}, done)
		inc, err := st.Incident(t.Context(), id)
		require.NoError(t, err)
		require.Empty(t, inc.Pending)
	})
}

// partitioned is a replica's store once its link to the store went dark
// in the middle of a page: its renewals and new claims fail, and the read
// of whether the page is still wanted, the first one, takes delay to
// come back.
type partitioned struct {
	klaxon.Store
	delay  time.Duration
	dark   atomic.Bool
	slowed atomic.Bool
}

func (s *partitioned) Incident(ctx context.Context, id string) (*klaxon.Incident, error) {
	if s.dark.Load() && s.slowed.CompareAndSwap(false, true) {
		time.Sleep(s.delay)
	}
	return s.Store.Incident(ctx, id)
}

func (s *partitioned) Renew(ctx context.Context, now time.Time, lease time.Duration, timers []klaxon.Timer) ([]string, error) {
	if s.dark.Load() {
		return nil, errors.New("store unreachable")
	}
	return s.Store.Renew(ctx, now, lease, timers)
}

func (s *partitioned) Claim(ctx context.Context, now time.Time, lease time.Duration, max int) ([]klaxon.Timer, time.Time, error) {
	if s.dark.Load() {
		return nil, time.Time{}, errors.New("store unreachable")
	}
	due, next, err := s.Store.Claim(ctx, now, lease, max)
	if len(due) > 0 {
		s.dark.Store(true) // from the claim on
	}
	return due, next, err
}

// TestPageNotSentAfterSlowRead: replica a claims alice's page, and its
// link to the store goes dark: its read of whether the page is still
// wanted takes 14 s to come back, and its claim, not renewed, lapses at
// 15 s. Replica b claims the page once a gave it up, and sends it. When
// a's read comes back, a no longer holds the claim with time to spare,
// and does not send the page: alice gets one SMS. Before, a sent it too.
func TestPageNotSentAfterSlowRead(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := openStore(t)
		start := time.Now()
		phones := &slowPhones{start: start, delay: func(klaxon.Page) time.Duration { return 0 }}
		dir := directory{"alice": klaxon.User{ID: "alice", Notify: []klaxon.NotifyRule{{Via: klaxon.ViaSMS}}}}
		opts := escalate.Options{Lease: 15 * time.Second}
		a := escalate.New(&partitioned{Store: st, delay: 14 * time.Second}, phones.engine("a"), func() escalate.Directory { return dir }, quiet, opts)
		b := escalate.New(st, phones.engine("b"), func() escalate.Directory { return dir }, quiet, opts)
		id := openIncident(t, st, klaxon.Policy{Name: "p", Steps: []klaxon.Step{userStep("alice")}}, start)
		runEngine(t, a)
		a.Wake()
		synctest.Wait() // a claimed, and reads
		runEngine(t, b)

		time.Sleep(2 * time.Minute)
		synctest.Wait()
		started, done := phones.pages()
		require.Len(t, started, 1, "alice paged once: %v", started)
		require.Contains(t, started[0], " b", "by the claim's next holder")
		require.Equal(t, []string{"alice/sms"}, done)
		inc, err := st.Incident(t.Context(), id)
		require.NoError(t, err)
		require.Empty(t, inc.Pending)
	})
}

// TestSlowPageDelaysNoStep pages alice by an SMS that takes 40 s, and the
// next step, bob, is due after 10 s: bob is paged on time, while alice's
// SMS is still in flight, by the engine that holds the incident.
func TestSlowPageDelaysNoStep(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := openStore(t)
		phones := &slowPhones{start: time.Now(), delay: func(p klaxon.Page) time.Duration {
			if p.Via == klaxon.ViaSMS {
				return 40 * time.Second
			}
			return 0
		}}
		dir := directory{"alice": alice, "bob": bob}
		e := escalate.New(st, phones.engine("a"), func() escalate.Directory { return dir }, quiet, escalate.Options{Lease: 15 * time.Second})
		policy := klaxon.Policy{Name: "p", Steps: []klaxon.Step{userStep("alice"), userStep("bob")}}
		policy.Steps[0].EscalateAfter = 10 * time.Second
		openIncident(t, st, policy, time.Now())
		runEngine(t, e)

		time.Sleep(11 * time.Second)
		synctest.Wait()
		started, done := phones.pages()
		require.Equal(t, []string{"alice/email 0 a", "alice/sms 0 a", "bob/email 10 a"}, sortedStrings(started))
		require.ElementsMatch(t, []string{"alice/email", "bob/email"}, done, "alice's SMS is still in flight")

		time.Sleep(2 * time.Minute)
		synctest.Wait()
		started, _ = phones.pages()
		require.ElementsMatch(t, []string{"alice/sms", "alice/email", "bob/email", "alice/voice"}, keys(started), "each once: %v", started)
	})
}

// releasingStore holds each renewal of claims until the fire's last
// commit, which gives its claim up with the timer it sets, has landed: the
// renewal then finds the claim gone, as one that races that commit does.
type releasingStore struct {
	klaxon.Store
	released chan struct{}
	once     sync.Once
}

func (s *releasingStore) Commit(ctx context.Context, c klaxon.Commit) error {
	err := s.Store.Commit(ctx, c)
	if err == nil && c.Claim != "" && len(c.Timers) > 0 {
		s.once.Do(func() { close(s.released) })
	}
	return err
}

func (s *releasingStore) Renew(ctx context.Context, now time.Time, lease time.Duration, timers []klaxon.Timer) ([]string, error) {
	select {
	case <-s.released:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return s.Store.Renew(ctx, now, lease, timers)
}

// lockedBuffer is a log that goroutines write at once.
type lockedBuffer struct {
	mu  sync.Mutex
	buf []byte
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	return len(p), nil
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}

// pageAlice runs one engine on st, with a lease of 15 s and a log of its
// own, and opens an incident that pages alice through phones whose pages
// take delay.
func pageAlice(t *testing.T, st klaxon.Store, delay time.Duration) (*slowPhones, *lockedBuffer) {
	phones := &slowPhones{start: time.Now(), delay: func(klaxon.Page) time.Duration { return delay }}
	logs := &lockedBuffer{}
	dir := directory{"alice": alice}
	e := escalate.New(st, phones.engine("a"), func() escalate.Directory { return dir },
		slog.New(slog.NewTextHandler(logs, nil)), escalate.Options{Lease: 15 * time.Second})
	openIncident(t, st, onePolicy, time.Now())
	runEngine(t, e)
	return phones, logs
}

// TestReleasedClaimIsNotLost: a renewal that finds gone the claim that
// the fire's own last commit gave up says nothing of another replica; one
// engine alone never logs that it lost a claim to one.
func TestReleasedClaimIsNotLost(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := &releasingStore{Store: openStore(t), released: make(chan struct{})}
		phones, logs := pageAlice(t, st, 4*time.Second)

		time.Sleep(10 * time.Second) // the pages take 4 s; a renewal comes every 2.5 s
		synctest.Wait()
		_, done := phones.pages()
		require.ElementsMatch(t, []string{"alice/sms", "alice/email"}, done)
		select {
		case <-st.released:
		default:
			t.Fatal("the fire's last commit did not give its claim up")
		}
		require.NotContains(t, logs.String(), "lost to another replica")
	})
}

// lostStore fails the fire's last commit until a renewal came, and
// answers every renewal that the claim is another's now, as when a
// replica took it meanwhile.
type lostStore struct {
	klaxon.Store
	mu              sync.Mutex
	failed, renewed bool
}

func (s *lostStore) Commit(ctx context.Context, c klaxon.Commit) error {
	s.mu.Lock()
	fail := !s.renewed && c.Claim != "" && len(c.Timers) > 0
	s.failed = s.failed || fail
	s.mu.Unlock()
	if fail {
		return fmt.Errorf("commit: %w", klaxon.ErrUnavailable)
	}
	return s.Store.Commit(ctx, c)
}

func (s *lostStore) Renew(_ context.Context, _ time.Time, _ time.Duration, timers []klaxon.Timer) ([]string, error) {
	s.mu.Lock()
	s.renewed = true
	s.mu.Unlock()
	var lost []string
	for _, t := range timers {
		lost = append(lost, t.Incident)
	}
	return lost, nil
}

// TestClaimLostAfterFailedRelease: when the commit that would give the
// claim up fails, the claim is still the fire's, and a renewal that
// finds it taken says so.
func TestClaimLostAfterFailedRelease(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := &lostStore{Store: openStore(t)}
		_, logs := pageAlice(t, st, 0)

		time.Sleep(10 * time.Second)
		synctest.Wait()
		st.mu.Lock()
		failed := st.failed
		st.mu.Unlock()
		require.True(t, failed, "the last commit failed once")
		require.Contains(t, logs.String(), "lost to another replica")
	})
}
