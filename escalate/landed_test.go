package escalate_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/escalate"
	"github.com/klaxonhq/klaxon/internal/fakeclock"
)

// The tests of a store that lands a commit and answers with an error
// (its reply lost): the engine must neither record a try twice nor page
// under a claim that such a commit gave up.

// retryLater is engine options that lease for 15 s and try a failed
// page again after 10 s.
var retryLater = escalate.Options{Lease: 15 * time.Second, Retry: escalate.Backoff{First: 10 * time.Second, Max: time.Minute}}

// startPaging runs an engine with options o on st, paging u as alice
// through n, opens an incident whose one step pages alice, wakes the
// engine for it, and returns the engine and the incident's ID.
func startPaging(t *testing.T, st klaxon.Store, n escalate.Notifier, u klaxon.User, o escalate.Options) (*escalate.Engine, string) {
	t.Helper()
	dir := directory{"alice": u}
	e := escalate.New(st, n, func() escalate.Directory { return dir }, quiet, o)
	runEngine(t, e)
	id := openIncident(t, st, klaxon.Policy{Name: "p", Steps: []klaxon.Step{userStep("alice")}}, time.Now())
	e.Wake()
	return e, id
}

// smsOnly is alice, with one rule: an SMS at once.
var smsOnly = klaxon.User{ID: "alice", Phone: "+15550100001", Notify: []klaxon.NotifyRule{{Via: klaxon.ViaSMS}}}

// heldPhone fails every page, which may go out if tried again, once open
// is closed.
type heldPhone struct{ open chan struct{} }

func (p *heldPhone) Notify(context.Context, klaxon.Page) error {
	<-p.open
	return providerError{retryable: true}
}

// TestRecordLandedOnceSilenced: a try that failed, to be made again, is
// recorded after the incident was acknowledged or resolved meanwhile;
// the record lands and loses its reply: the try is on the timeline once.
func TestRecordLandedOnceSilenced(t *testing.T) {
	for _, how := range []string{"ack", "resolve"} {
		t.Run(how, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				st := &flakyStore{Store: openStore(t), n: 1, landed: true,
					which: func(c klaxon.Commit) bool { return records(c, klaxon.EventPageFailed) }}
				ph := &heldPhone{open: make(chan struct{})}
				e, id := startPaging(t, st, ph, smsOnly, retryLater)
				synctest.Wait() // the SMS is in flight
				who := klaxon.Actor{By: "bob", How: "web"}
				var err error
				if how == "ack" {
					_, err = e.Acknowledge(t.Context(), id, who)
				} else {
					_, err = e.Resolve(t.Context(), id, who)
				}
				require.NoError(t, err)
				close(ph.open)
				time.Sleep(time.Minute)
				synctest.Wait()
				timeline, err := klaxon.ReadTimeline(t.Context(), st, id)
				require.NoError(t, err)
				require.Equal(t, 1, count(timeline, klaxon.EventPageFailed), "%v", timelineText(timeline))
			})
		})
	}
}

func count(timeline []klaxon.Event, kind klaxon.EventKind) int {
	n := 0
	for _, ev := range timeline {
		if ev.Kind == kind {
			n++
		}
	}
	return n
}

// TestFinalFailureAfterUndeliveredReport: an SMS's first try fails and
// is made again, the provider reports it undelivered all the same, and
// the second try fails for good: each try is on the timeline, and the
// report.
func TestFinalFailureAfterUndeliveredReport(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := openStore(t)
		ph := &flakyPhone{start: time.Now(), fail: func(_ string, try int) error {
			return providerError{retryable: try == 1}
		}}
		e, id := startPaging(t, st, ph, smsOnly, retryLater)
		time.Sleep(2 * time.Second)
		synctest.Wait()
		inc, err := st.Incident(t.Context(), id)
		require.NoError(t, err)
		require.Len(t, inc.Sent, 1)
		require.NoError(t, e.Delivery(t.Context(), id, inc.Sent[0].Notification, false, "undelivered"))
		time.Sleep(time.Minute)
		synctest.Wait()
		require.Equal(t, []string{"0 sms failed", "2 sms failed"}, ph.got())
		timeline, err := klaxon.ReadTimeline(t.Context(), st, id)
		require.NoError(t, err)
		require.Len(t, smsEvents(timeline), 3, "%v", timelineText(timeline))
	})
}

// releaseLost, with lost, lands the first commit that gives a claim up
// (it sets or cancels a timer under a claim), and answers it with an
// error; then it fails the next fail such commits, which do not land.
type releaseLost struct {
	klaxon.Store
	lost bool
	fail int

	mu   sync.Mutex
	seen int
}

func (s *releaseLost) Commit(ctx context.Context, c klaxon.Commit) error {
	if c.Claim == "" || len(c.Timers)+len(c.Cancel) == 0 {
		return s.Store.Commit(ctx, c)
	}
	s.mu.Lock()
	s.seen++
	n := s.seen
	s.mu.Unlock()
	if !s.lost {
		n++
	}
	switch {
	case n == 1:
		if err := s.Store.Commit(ctx, c); err != nil {
			return err
		}
		return fmt.Errorf("commit: connection reset: %w", klaxon.ErrUnavailable)
	case n <= 1+s.fail:
		return fmt.Errorf("commit: %w", klaxon.ErrUnavailable)
	}
	return s.Store.Commit(ctx, c)
}

// logPhone logs each page as "<via> <seconds>"; a call rings for ring.
type logPhone struct {
	start time.Time
	ring  time.Duration
	mu    *sync.Mutex
	log   *[]string
}

func (p logPhone) Notify(_ context.Context, pg klaxon.Page) error {
	p.mu.Lock()
	*p.log = append(*p.log, fmt.Sprintf("%s %.0f", pg.Via, time.Since(p.start).Seconds()))
	p.mu.Unlock()
	if pg.Via == klaxon.ViaVoice {
		time.Sleep(p.ring)
	}
	return nil
}

// TestNoPageUnderReleasedClaim: engine a's commit that gives its claim
// up lands, and its answer is lost; engine b may claim the incident's
// timer when it is due. a decides nothing more under the claim it gave
// up: every page goes once.
func TestNoPageUnderReleasedClaim(t *testing.T) {
	for _, tt := range []struct {
		name string
		// dir fails a's first lookup of the step's schedule, whose
		// commit gives the claim up until the lookup is due again;
		// else the step pages alice's SMS, and her call 2 s on.
		lookupFails bool
		// lost: the first commit giving the claim up lands, its answer
		// lost; fail: those that fail after it, and do not land
		lost bool
		fail int
		want []string
	}{
		{"after a failed lookup", true, true, 0, []string{"sms 3"}},
		{"between two rules", false, true, 1, []string{"sms 0", "voice 2"}},
		// The release is made again, and the page goes when due, not
		// at the lease's end.
		{"a release that did not land", true, false, 1, []string{"sms 3"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				raw := openStore(t)
				start := time.Now()
				var mu sync.Mutex
				var log []string
				alice := klaxon.User{ID: "alice", Phone: "+15550100001",
					Notify: []klaxon.NotifyRule{{Via: klaxon.ViaSMS}, {Via: klaxon.ViaVoice, After: 2 * time.Second}}}
				var dir escalate.Directory = directory{"alice": alice}
				step := userStep("alice")
				if tt.lookupFails {
					dir = &flakyDirectory{directory: directory{"alice": smsOnly}, failures: 1}
					step = klaxon.Step{Targets: []klaxon.Target{{Kind: klaxon.TargetSchedule, Name: "primary"}}, EscalateAfter: time.Hour}
				}
				o := escalate.Options{Lease: 30 * time.Second, Retry: escalate.Backoff{First: 3 * time.Second, Max: time.Minute}, Poll: time.Hour}
				a := escalate.New(&releaseLost{Store: raw, lost: tt.lost, fail: tt.fail}, logPhone{start, 5 * time.Second, &mu, &log}, func() escalate.Directory { return dir }, quiet, o)
				o.Poll = 500 * time.Millisecond
				b := escalate.New(raw, logPhone{start, 5 * time.Second, &mu, &log}, func() escalate.Directory { return dir }, quiet, o)
				openIncident(t, raw, klaxon.Policy{Name: "p", Steps: []klaxon.Step{step}}, start)
				runEngine(t, a)
				a.Wake()
				synctest.Wait()
				runEngine(t, b)
				time.Sleep(20 * time.Second)
				synctest.Wait()
				mu.Lock()
				defer mu.Unlock()
				require.Equal(t, tt.want, log)
			})
		})
	}
}

// TestUnsureCommitHandedOn: an acknowledgement whose commit lands and
// loses its reply fails, and its retry finds nothing to change, so no
// commit of it is handed to Committed: its incident goes to Unsure, for
// a chat message to read it again. A commit refused for good goes to
// neither.
func TestUnsureCommitHandedOn(t *testing.T) {
	for name, c := range map[string]struct {
		landed bool
		err    error // what the store answers instead, when not nil
		unsure bool
	}{
		"landed, reply lost": {landed: true, unsure: true},
		"not landed":         {unsure: true},
		"refused":            {err: klaxon.ErrInvalid},
	} {
		t.Run(name, func(t *testing.T) {
			clk := fakeclock.New(t0)
			var committed, unsure []string
			inner := openStore(t)
			flaky := &flakyStore{Store: inner, n: 1, landed: c.landed,
				which: func(cm klaxon.Commit) bool { return records(cm, klaxon.EventAcknowledged) }}
			var st klaxon.Store = flaky
			if c.err != nil {
				st = refusingStore{flaky, c.err}
			}
			e := escalate.New(st, &phone{}, func() escalate.Directory { return directory{"alice": alice} }, quiet, escalate.Options{Now: clk.Now,
				Committed: func(incs []*klaxon.Incident) { committed = append(committed, states(incs)...) },
				Unsure:    func(incs []*klaxon.Incident) { unsure = append(unsure, states(incs)...) }})
			id := openIncident(t, inner, onePolicy, t0)
			who := klaxon.Actor{By: "bob", How: "web"}
			_, err := e.Acknowledge(t.Context(), id, who)
			require.Error(t, err)
			if c.unsure {
				require.Equal(t, []string{id + " acknowledged"}, unsure)
			} else {
				require.Empty(t, unsure)
			}
			require.Empty(t, committed)
			if c.err != nil {
				return
			}
			inc, err := e.Acknowledge(t.Context(), id, who)
			require.NoError(t, err)
			require.Equal(t, klaxon.StateAcknowledged, inc.State)
			if c.landed {
				require.Empty(t, committed, "the retry commits nothing")
			} else {
				require.Equal(t, []string{id + " acknowledged"}, committed)
			}
		})
	}
}

// refusingStore answers the commits that flaky would fail with err, as
// a store that refuses them for good, and commits nothing of them.
type refusingStore struct {
	*flakyStore
	err error
}

func (s refusingStore) Commit(ctx context.Context, c klaxon.Commit) error {
	if s.which(c) {
		return fmt.Errorf("commit: %w", s.err)
	}
	return s.flakyStore.Commit(ctx, c)
}

// states names each incident with its state: "12 acknowledged".
func states(incs []*klaxon.Incident) []string {
	var out []string
	for _, inc := range incs {
		out = append(out, inc.ID+" "+string(inc.State))
	}
	return out
}
