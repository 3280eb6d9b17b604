package escalate_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/escalate"
)

// providerError is a provider's answer: retryable (a 503) or not (a bad
// number).
type providerError struct{ retryable bool }

func (e providerError) Error() string {
	return fmt.Sprintf("provider error (retryable %t)", e.retryable)
}
func (e providerError) Retryable() bool { return e.retryable }

// throttled is a provider's 429 that asks for a wait (Retry-After).
type throttled struct{ wait time.Duration }

func (e throttled) Error() string       { return fmt.Sprintf("throttled: retry after %s", e.wait) }
func (e throttled) Retryable() bool     { return true }
func (e throttled) Wait() time.Duration { return e.wait }

// flakyPhone fails the pages by one contact method as fail says, and
// records each try with its second from start.
type flakyPhone struct {
	start time.Time
	fail  func(via string, try int) error

	mu    sync.Mutex
	tries map[string]int
	log   []string
}

func (p *flakyPhone) Notify(_ context.Context, pg klaxon.Page) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tries == nil {
		p.tries = map[string]int{}
	}
	p.tries[pg.Via]++
	err := p.fail(pg.Via, p.tries[pg.Via])
	result := "ok"
	if err != nil {
		result = "failed"
	}
	p.log = append(p.log, fmt.Sprintf("%.0f %s %s", time.Since(p.start).Seconds(), pg.Via, result))
	return err
}

func (p *flakyPhone) got() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.log...)
}

// tryTexts lists the timeline's page events of alice's SMS.
func smsEvents(timeline []klaxon.Event) []string {
	var out []string
	for _, ev := range timeline {
		if ev.Via == klaxon.ViaSMS {
			out = append(out, string(ev.Kind)+": "+ev.Text)
		}
	}
	return out
}

func TestEngineRetry(t *testing.T) {
	// alice: SMS at once, a call after a minute, mail at once.
	onlyAlice := klaxon.Policy{Name: "p", Steps: []klaxon.Step{userStep("alice")}}
	onlyAlice.Steps[0].EscalateAfter = time.Hour
	twoSteps := klaxon.Policy{Name: "p", Steps: []klaxon.Step{userStep("alice"), userStep("bob")}}
	twoSteps.Steps[0].EscalateAfter = 20 * time.Second
	twoSteps.Steps[1].EscalateAfter = time.Hour
	for _, c := range []struct {
		name   string
		policy klaxon.Policy
		fail   func(via string, try int) error
		want   []string // tries by the second, SMS and calls
	}{
		{
			name:   "a retryable failure is tried again with backoff until it succeeds",
			policy: onlyAlice,
			fail: func(via string, try int) error {
				if via == klaxon.ViaSMS && try <= 2 {
					return providerError{retryable: true}
				}
				return nil
			},
			want: []string{"0 sms failed", "10 sms failed", "30 sms ok", "60 voice ok"},
		},
		{
			name:   "a provider's Retry-After longer than the backoff is waited out",
			policy: onlyAlice,
			fail: func(via string, try int) error {
				if via == klaxon.ViaSMS && try == 1 {
					return throttled{wait: 45 * time.Second}
				}
				return nil
			},
			want: []string{"0 sms failed", "45 sms ok", "60 voice ok"},
		},
		{
			name:   "retries stop once the next rule went out",
			policy: onlyAlice,
			fail: func(via string, try int) error {
				if via == klaxon.ViaSMS {
					return providerError{retryable: true}
				}
				return nil
			},
			want: []string{"0 sms failed", "10 sms failed", "30 sms failed", "60 voice ok"},
		},
		{
			name:   "retries stop once the step escalates",
			policy: twoSteps,
			fail: func(via string, try int) error {
				if via == klaxon.ViaSMS {
					return providerError{retryable: true}
				}
				return nil
			},
			// bob is mailed at 20 s; alice's call, of step 1, still goes.
			want: []string{"0 sms failed", "10 sms failed", "60 voice ok"},
		},
		{
			name:   "a final failure calls at once",
			policy: onlyAlice,
			fail: func(via string, try int) error {
				if via == klaxon.ViaSMS {
					return providerError{retryable: false}
				}
				return nil
			},
			want: []string{"0 sms failed", "0 voice ok"},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				st := openStore(t)
				start := time.Now()
				ph := &flakyPhone{start: start, fail: c.fail}
				dir := directory{"alice": alice, "bob": bob}
				e := escalate.New(st, ph, func() escalate.Directory { return dir }, quiet,
					escalate.Options{Retry: escalate.Backoff{First: 10 * time.Second, Max: time.Minute}})
				runEngine(t, e)
				id := openIncident(t, st, c.policy, start)
				e.Wake()

				time.Sleep(10 * time.Minute)
				synctest.Wait()
				var tries []string
				for _, l := range ph.got() {
					if !containsVia(l, klaxon.ViaEmail) {
						tries = append(tries, l)
					}
				}
				inc, err := st.Incident(t.Context(), id)
				require.NoError(t, err)
				timeline, err := klaxon.ReadTimeline(t.Context(), st, id)
				require.NoError(t, err)
				require.Equal(t, c.want, tries, "timeline: %v", timelineText(timeline))

				require.Empty(t, inc.Pending, "nothing left to send or try")
				events := smsEvents(timeline)
				t.Logf("SMS on the timeline: %q", events)
				switch c.name {
				case "a retryable failure is tried again with backoff until it succeeds":
					require.Len(t, events, 3)
					require.Regexp(t, `^page_failed: try 1 failed: .*; trying again at `, events[0])
					require.Regexp(t, `^page_failed: try 2 failed: `, events[1])
					require.Equal(t, "page_sent: ", events[2])
				case "retries stop once the next rule went out":
					require.Len(t, events, 4)
					require.Equal(t, "page_failed: not tried again after 3 failed tries: a later page by voice went out", events[3])
				case "retries stop once the step escalates":
					require.Len(t, events, 3)
					require.Equal(t, "page_failed: not tried again after 2 failed tries: step 2 escalated", events[2])
				case "a final failure calls at once":
					require.Equal(t, []string{"page_failed: provider error (retryable false)"}, events)
				}
			})
		})
	}
}

func containsVia(line, via string) bool {
	var at, v, result string
	_, _ = fmt.Sscanf(line, "%s %s %s", &at, &v, &result)
	return v == via
}

func timelineText(timeline []klaxon.Event) []string {
	var out []string
	for _, ev := range timeline {
		out = append(out, fmt.Sprintf("%s %s/%s %s", ev.Kind, ev.User, ev.Via, ev.Text))
	}
	return out
}

// flakyStore fails the first n commits that which picks, as a store
// that cannot be reached for a while does; with landed, it makes them
// first, as a store whose reply was lost does.
type flakyStore struct {
	klaxon.Store
	which  func(klaxon.Commit) bool
	landed bool

	mu sync.Mutex
	n  int
}

func (s *flakyStore) Commit(ctx context.Context, c klaxon.Commit) error {
	if !s.which(c) {
		return s.Store.Commit(ctx, c)
	}
	s.mu.Lock()
	fail := s.n > 0
	s.n--
	s.mu.Unlock()
	if !fail {
		return s.Store.Commit(ctx, c)
	}
	if s.landed {
		if err := s.Store.Commit(ctx, c); err != nil {
			return err
		}
		return fmt.Errorf("commit: connection reset: %w", klaxon.ErrUnavailable)
	}
	return fmt.Errorf("commit: %w", klaxon.ErrUnavailable)
}

// records reports whether c records a try of a page of kinds.
func records(c klaxon.Commit, kinds ...klaxon.EventKind) bool {
	for _, inc := range c.Incidents {
		for _, ev := range inc.Recorded {
			if slices.Contains(kinds, ev.Kind) {
				return true
			}
		}
	}
	return false
}

// failingRecords fails the commits that record pages sent, n times.
func failingRecords(st klaxon.Store, n int) *flakyStore {
	return &flakyStore{Store: st, n: n, which: func(c klaxon.Commit) bool { return records(c, klaxon.EventPageSent) }}
}

// TestRecordRetriedUnderClaim: pages that went out while the store could
// not record them are recorded once it can, under the same claim, for
// longer than a lease: no later claim sends them again.
func TestRecordRetriedUnderClaim(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := failingRecords(openStore(t), 8)
		ph := &flakyPhone{start: time.Now(), fail: func(string, int) error { return nil }}
		_, id := startPaging(t, st, ph, alice, retryLater)
		// Records fail at 0 s and after 1, 2, 4 s, then every 4 s: 23 s,
		// more than a lease, before the pages are on record.
		time.Sleep(2 * time.Minute)
		synctest.Wait()
		pages := ph.got()
		require.NotEmpty(t, pages)
		perVia := map[string]int{}
		for _, l := range pages {
			var at, via, result string
			_, _ = fmt.Sscanf(l, "%s %s %s", &at, &via, &result)
			perVia[via]++
		}
		for via, n := range perVia {
			require.Equal(t, 1, n, "%s sent %d times: %v", via, n, pages)
		}
		timeline, err := klaxon.ReadTimeline(t.Context(), st, id)
		require.NoError(t, err)
		sent := 0
		for _, ev := range timeline {
			if ev.Kind == klaxon.EventPageSent {
				sent++
			}
		}
		require.Equal(t, len(pages), sent, "each page on record once: %v", timelineText(timeline))
	})
}

// TestEngineLastStepWaitsUnlessEveryPageFailed: a last step without
// escalate_after waits until someone acts, but when every one of its pages
// fails for good nobody was reached, and the fallback is paged.
func TestEngineLastStepWaitsUnlessEveryPageFailed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := openStore(t)
		start := time.Now()
		phone := &flakyPhone{start: start, fail: func(via string, _ int) error {
			if via == klaxon.ViaEmail {
				return nil // bob, the fallback, by mail
			}
			return providerError{retryable: false}
		}}
		dir := &flakyDirectory{directory: directory{"alice": klaxon.User{ID: "alice", Phone: "+15550100001", Notify: []klaxon.NotifyRule{{Via: klaxon.ViaSMS}}}, "bob": bob},
			fallback: []string{"bob"}}
		e := escalate.New(st, phone, func() escalate.Directory { return dir }, quiet, escalate.Options{})
		runEngine(t, e)
		last := userStep("alice")
		last.EscalateAfter = 0 // waits until someone acts
		id := openIncident(t, st, klaxon.Policy{Name: "p", Steps: []klaxon.Step{last}}, start)
		e.Wake()

		time.Sleep(time.Hour)
		synctest.Wait()
		require.Equal(t, []string{"0 sms failed", "0 email ok"}, phone.got())
		timeline, err := klaxon.ReadTimeline(t.Context(), st, id)
		require.NoError(t, err)
		require.Contains(t, kindsOf(timeline), klaxon.EventFallback)
	})
}

// TestFireRetriedUnderClaim: the commit that decides a new incident's
// first page fails (the store is away for a few seconds). The engine
// holds the claim until its lease ends, so nobody else pages meanwhile:
// it tries again while the claim holds, and pages once the store
// answers, not at the lease's end.
func TestFireRetriedUnderClaim(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// The engine's commits fail twice.
		st := &flakyStore{Store: openStore(t), n: 2, which: func(c klaxon.Commit) bool { return c.Urgent }}
		ph := &flakyPhone{start: time.Now(), fail: func(string, int) error { return nil }}
		startPaging(t, st, ph, alice, escalate.Options{Lease: 15 * time.Second, Poll: time.Hour})
		// Fails at 0 s and 1 s, lands at 3 s.
		time.Sleep(5 * time.Second)
		synctest.Wait()
		got := ph.got()
		slices.Sort(got)
		require.Equal(t, []string{"3 email ok", "3 sms ok"}, got, "paged once the store answered, within the lease")
	})
}

// TestRecordLandedOnce: the commit that records pages lands, and its
// reply is lost. The engine records them again, and finds them on
// record: each try is on the timeline once.
func TestRecordLandedOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// The first three records land, and their replies are lost.
		st := &flakyStore{Store: openStore(t), n: 3, landed: true,
			which: func(c klaxon.Commit) bool { return records(c, klaxon.EventPageSent, klaxon.EventPageFailed) }}
		ph := &flakyPhone{start: time.Now(), fail: func(via string, try int) error {
			if via == klaxon.ViaSMS && try == 1 {
				return fmt.Errorf("twilio: 503: %w", klaxon.ErrUnavailable)
			}
			return nil
		}}
		_, id := startPaging(t, st, ph, alice, retryLater)
		time.Sleep(2 * time.Minute)
		synctest.Wait()
		// Alice's mail and SMS at once, the SMS failing; then her call.
		pages := viaResults(ph)
		slices.Sort(pages)
		require.Equal(t, []string{"email ok", "sms failed", "voice ok"}, pages)
		timeline, err := klaxon.ReadTimeline(t.Context(), st, id)
		require.NoError(t, err)
		var tries []string
		for _, ev := range timeline {
			if ev.Kind == klaxon.EventPageSent || ev.Kind == klaxon.EventPageFailed {
				tries = append(tries, string(ev.Kind)+" "+ev.Via)
			}
		}
		slices.Sort(tries)
		require.Equal(t, []string{"page_failed sms", "page_sent email", "page_sent voice"}, tries, "%v", timelineText(timeline))
	})
}

// TestRecordLandedFinalFailureOnce: the commit that records a final
// failure (alice's SMS) lands, which makes her next rule (a call after a
// minute) due at once, and its reply is lost. Recorded again, the
// failure is on record already and makes no other rule due: her mail
// waits its five minutes, and a call is all that goes out before.
func TestRecordLandedFinalFailureOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := &flakyStore{Store: openStore(t), n: 1, landed: true,
			which: func(c klaxon.Commit) bool { return records(c, klaxon.EventPageFailed) }}
		ph := &flakyPhone{start: time.Now(), fail: func(via string, _ int) error {
			if via == klaxon.ViaSMS {
				return providerError{retryable: false}
			}
			return nil
		}}
		u := klaxon.User{ID: "alice", Phone: "+15550100001", Notify: []klaxon.NotifyRule{
			{Via: klaxon.ViaSMS}, {Via: klaxon.ViaVoice, After: time.Minute}, {Via: klaxon.ViaEmail, After: 5 * time.Minute}}}
		startPaging(t, st, ph, u, retryLater)
		time.Sleep(2 * time.Minute)
		synctest.Wait()
		pages := viaResults(ph)
		require.Equal(t, []string{"sms failed", "voice ok"}, pages, "the mail is due at 5 min")
	})
}

// viaResults returns the pages ph was asked to send, in order, each as
// its channel and result ("sms failed").
func viaResults(ph *flakyPhone) []string {
	var pages []string
	for _, l := range ph.got() {
		var at, via, result string
		_, _ = fmt.Sscanf(l, "%s %s %s", &at, &via, &result)
		pages = append(pages, via+" "+result)
	}
	return pages
}
