package escalate_test

import (
	"context"
	"math"
	"strings"
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

// maybeSent is a phone whose first fail tries fail in a way that the
// provider may have sent them all the same (a timeout, a 5xx: the twilio
// channel's Error.MaybeSent): they are to be tried again. With held set,
// each failing try first waits for held to be closed (the provider's
// answer slow in coming). With only set, it is the phone of the pages
// only picks, and the others go to next; the tries after the failing
// ones go to next too. With next nil, what goes to next goes out.
type maybeSent struct {
	fail int64
	held chan struct{}
	only func(klaxon.Page) bool
	next escalate.Notifier
	// tries counts the tries of the pages the phone is for.
	tries atomic.Int64
}

// forever, as maybeSent's fail: every try fails.
const forever = math.MaxInt64

func (p *maybeSent) Notify(ctx context.Context, pg klaxon.Page) error {
	if p.only != nil && !p.only(pg) || p.tries.Add(1) > p.fail {
		if p.next == nil {
			return nil
		}
		return p.next.Notify(ctx, pg)
	}
	if p.held != nil {
		<-p.held
	}
	return providerError{retryable: true}
}

// notifyFunc is a phone that is a function.
type notifyFunc func(context.Context, klaxon.Page) error

func (f notifyFunc) Notify(ctx context.Context, pg klaxon.Page) error { return f(ctx, pg) }

// danaPages picks dana's pages; bySMS, the SMSes.
func danaPages(pg klaxon.Page) bool { return pg.User.ID == "dana" }
func bySMS(pg klaxon.Page) bool     { return pg.Via == klaxon.ViaSMS }

// pageDana runs danaOrCarol through notifier, opens an incident on
// danaPolicy(0), and lets the engine make the first try of dana's page.
func pageDana(t *testing.T, notifier escalate.Notifier) (*embedded.Store, *escalate.Engine, string) {
	t.Helper()
	st, e := danaOrCarol(t, notifier, nil)
	id := openIncident(t, st, danaPolicy(0), time.Now())
	e.Wake()
	synctest.Wait()
	return st, e, id
}

// pendingID is the ID of the incident's one pending notification: the
// page whose try failed, to be tried again.
func pendingID(t *testing.T, st klaxon.Store, id string) int {
	t.Helper()
	inc, err := st.Incident(t.Context(), id)
	require.NoError(t, err)
	require.Len(t, inc.Pending, 1, "the failed try is to be tried again")
	return inc.Pending[0].ID
}

// timelineOf is the incident's timeline, and its text for messages.
func timelineOf(t *testing.T, st klaxon.Store, id string) ([]klaxon.Event, string) {
	t.Helper()
	timeline, err := klaxon.ReadTimeline(t.Context(), st, id)
	require.NoError(t, err)
	return timeline, strings.Join(timelineText(timeline), "\n")
}

// settled lets the walk play out (20 minutes, with every goroutine of
// the bubble left to run), and is then the incident's timeline, and its
// text for messages.
func settled(t *testing.T, st klaxon.Store, id string) ([]klaxon.Event, string) {
	t.Helper()
	time.Sleep(20 * time.Minute)
	synctest.Wait()
	return timelineOf(t, st, id)
}

// requireReached asserts the end of a walk whose page reached dana: the
// fallback is not paged, nothing is left to try, and the walk counts
// her reached and paged.
func requireReached(t *testing.T, st klaxon.Store, id string, timeline []klaxon.Event, text string) {
	t.Helper()
	require.Zero(t, count(timeline, klaxon.EventFallback), "dana was reached: %s", text)
	inc, err := st.Incident(t.Context(), id)
	require.NoError(t, err)
	require.Empty(t, inc.Pending, "nothing is left to try: %s", text)
	require.True(t, inc.Escalation.Reached, text)
	require.False(t, inc.PagedAt.IsZero(), text)
}

// TestMaybePlacedCallReportedReachedIsNotPlacedAgain: a call whose
// placing failed, but which the provider placed all the same, is
// reported by its status callback as answered by its person (completed)
// before the page's retry: the page reached dana, and the retry must not
// call her again once the call ended (the throttle holds her only while
// she is on it).
func TestMaybePlacedCallReportedReachedIsNotPlacedAgain(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ph := &maybeSent{fail: 1}
		st, e, id := pageDana(t, ph)
		require.EqualValues(t, 1, ph.tries.Load())
		require.NoError(t, e.Delivery(t.Context(), id, pendingID(t, st, id), true, "completed"))

		timeline, text := settled(t, st, id)
		require.EqualValues(t, 1, ph.tries.Load(), "dana answered the call, and was called again: %s", text)
		require.Equal(t, 1, count(timeline, klaxon.EventPageSent), "the call went out: %s", text)
		requireReached(t, st, id, timeline, text)
	})
}

// TestMaybePlacedCallReachedAfterOneUnanswered: both tries of dana's
// page failed though the provider placed each call. The first rang
// unanswered (no-answer), the second dana answered (completed). Her
// page reached her: the walk must count her reached, and not page the
// fallback, as it does for one call reported completed.
func TestMaybePlacedCallReachedAfterOneUnanswered(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ph := &maybeSent{fail: 2}
		st, e, id := pageDana(t, ph)
		require.EqualValues(t, 1, ph.tries.Load())
		n := pendingID(t, st, id)

		time.Sleep(time.Second)
		require.NoError(t, e.Delivery(t.Context(), id, n, false, "no-answer"))
		time.Sleep(10 * time.Second) // the retry (10 s)
		synctest.Wait()
		require.EqualValues(t, 2, ph.tries.Load())
		require.NoError(t, e.Delivery(t.Context(), id, n, true, "completed"))

		timeline, text := settled(t, st, id)
		require.EqualValues(t, 2, ph.tries.Load(), "dana answered the second call: %s", text)
		requireReached(t, st, id, timeline, text)
	})
}

// TestMaybePlacedCallAckedOnItIsRecordedSent: a call whose placing
// failed (a timeout: the provider may have placed it) was placed all the
// same, and dana acknowledges the incident by a key on it, as a person
// who answers a page call does. The acknowledgement gives up the page's
// retry; the call's status callback then reports it completed. The
// report is of a page that reached dana: it goes on the timeline (sent,
// delivered), not dropped as a report of no page, which would leave the
// review saying the call was never sent though she acknowledged on it.
func TestMaybePlacedCallAckedOnItIsRecordedSent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ph := &maybeSent{fail: 1}
		st, e, id := pageDana(t, ph)
		require.EqualValues(t, 1, ph.tries.Load())
		n := pendingID(t, st, id)

		_, err := e.Act(t.Context(), klaxon.ActionAck, id, klaxon.Actor{By: "dana", How: "voice"})
		require.NoError(t, err)
		require.NoError(t, e.Delivery(t.Context(), id, n, true, "completed"), "the report is of dana's page")

		timeline, text := settled(t, st, id)
		require.EqualValues(t, 1, ph.tries.Load())
		var sent, delivered bool
		for _, ev := range timeline {
			sent = sent || ev.Kind == klaxon.EventPageSent && ev.Notification == n
			delivered = delivered || ev.Kind == klaxon.EventPageDelivered && ev.Notification == n
		}
		require.True(t, sent, "the call went out: %s", text)
		require.True(t, delivered, "the call was reported completed: %s", text)
	})
}

// TestMaybePlacedReportedReachedBeforeItsTryEnded: dana's first page is
// with its provider, whose answer is slow in coming (an SMS's request
// that times out, and is made again inline, while the provider sent the
// first): the provider reports it delivered before the try ends, and
// then the try fails, in a way that says it may have gone out. It did,
// and reached dana: the page is sent, once, and not tried again, as
// when the report comes after the failed try (1ba3b78).
func TestMaybePlacedReportedReachedBeforeItsTryEnded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ph := &maybeSent{fail: 1, held: make(chan struct{})}
		st, e, id := pageDana(t, ph)
		require.EqualValues(t, 1, ph.tries.Load())
		n := pendingID(t, st, id)

		time.Sleep(5 * time.Second)
		require.NoError(t, e.Delivery(t.Context(), id, n, true, "completed"))
		time.Sleep(5 * time.Second)
		close(ph.held)

		timeline, text := settled(t, st, id)
		require.EqualValues(t, 1, ph.tries.Load(), "dana was reached, and paged again: %s", text)
		require.Equal(t, 1, count(timeline, klaxon.EventPageSent), text)
		requireReached(t, st, id, timeline, text)
	})
}

// TestMaybePlacedCopyReportedReachedAfterAnotherNot: dana's first page
// is an SMS whose request timed out and was made again inline, each
// copy sent by the provider, while the try is with it: the provider
// reports the first copy undelivered, then the second delivered, and
// then the try fails in a way that says it may have gone out. It did go
// out: it is recorded sent, once, and not tried again, which would page
// her once more.
func TestMaybePlacedCopyReportedReachedAfterAnotherNot(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ph := &maybeSent{fail: 1, held: make(chan struct{}), only: danaPages}
		st, e, id := pageDana(t, ph)
		require.EqualValues(t, 1, ph.tries.Load())
		n := pendingID(t, st, id)

		time.Sleep(3 * time.Second)
		require.NoError(t, e.Delivery(t.Context(), id, n, false, "undelivered"))
		time.Sleep(2 * time.Second)
		require.NoError(t, e.Delivery(t.Context(), id, n, true, "delivered"))
		time.Sleep(5 * time.Second)
		close(ph.held)

		timeline, text := settled(t, st, id)
		require.EqualValues(t, 1, ph.tries.Load(), "dana's page went out, and was tried again: %s", text)
		sent := 0
		for _, ev := range timeline {
			if ev.Kind == klaxon.EventPageSent && ev.User == "dana" {
				sent++
			}
		}
		require.Equal(t, 1, sent, text)
	})
}

// TestMaybePlacedCopyAnsweredCountsReached: dana's first call is placed
// twice while its try is with the provider (its creation timed out and
// was made again inline). The first copy rings unanswered, she answers
// the second, and then the try fails in a way that says it may have gone
// out. Her page reached her, as one reported so after its try failed
// (TestMaybePlacedCallReachedAfterOneUnanswered): the walk counts her
// reached, and does not page the fallback.
func TestMaybePlacedCopyAnsweredCountsReached(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ph := &maybeSent{fail: 1, held: make(chan struct{}), only: danaPages}
		st, e, id := pageDana(t, ph)
		require.EqualValues(t, 1, ph.tries.Load())
		n := pendingID(t, st, id)

		time.Sleep(3 * time.Second)
		require.NoError(t, e.Delivery(t.Context(), id, n, false, "no-answer"))
		time.Sleep(2 * time.Second)
		require.NoError(t, e.Delivery(t.Context(), id, n, true, "completed"))
		time.Sleep(5 * time.Second)
		close(ph.held)

		timeline, text := settled(t, st, id)
		require.EqualValues(t, 1, ph.tries.Load(), "dana answered her call: %s", text)
		requireReached(t, st, id, timeline, text)
	})
}

// TestMaybePlacedCallOutrunsEarlierRule: dana is paged by SMS at once
// and called after a minute. Her SMS keeps failing, to be tried again;
// her call's creation times out though it was placed, and she answers
// it before the try ends (its report beats the try's failure). The call
// went out and reached her, as one whose creation went through: the SMS
// of her earlier rule is not tried again (dropOutrun), which would page
// her once more.
func TestMaybePlacedCallOutrunsEarlierRule(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		calls := &maybeSent{fail: 1, held: make(chan struct{})}
		sms := &maybeSent{fail: forever, only: bySMS, next: calls}
		release := sync.OnceFunc(func() { close(calls.held) })
		defer release()
		st, e := danaOrCarolBy(t, sms,
			[]klaxon.NotifyRule{{Via: klaxon.ViaSMS}, {Via: klaxon.ViaVoice, After: time.Minute}},
			[]klaxon.NotifyRule{{Via: klaxon.ViaEmail}}, nil)
		id := openIncident(t, st, danaPolicy(0), time.Now())
		e.Wake()
		time.Sleep(time.Minute + 5*time.Second)
		synctest.Wait()
		require.EqualValues(t, 1, calls.tries.Load())
		inc, err := st.Incident(t.Context(), id)
		require.NoError(t, err)
		call := -1
		for _, n := range inc.Pending {
			if n.Via == klaxon.ViaVoice {
				call = n.ID
			}
		}
		require.Positive(t, call, "%+v", inc.Pending)
		require.NoError(t, e.Delivery(t.Context(), id, call, true, "completed"))
		time.Sleep(5 * time.Second)
		release()
		time.Sleep(time.Second)
		synctest.Wait()
		smsAtCall := sms.tries.Load()

		time.Sleep(20 * time.Minute)
		synctest.Wait()
		require.Equal(t, smsAtCall, sms.tries.Load(), "dana's call reached her, and her SMS was tried again")
	})
}

// TestReportedReachedWhileRetryInFlight: a call whose placing failed was
// placed all the same, and its report (completed: dana answered) lands
// while the page's retry is with the provider. Whatever becomes of the
// retry, dana was reached: a retry refused for good must not make the
// walk count her not reached (and page the fallback), and the notification
// does not come back to the outbox.
func TestReportedReachedWhileRetryInFlight(t *testing.T) {
	for _, tc := range []struct {
		name string
		end  error
	}{
		{"the retry went out", nil},
		{"the retry failed, to be tried again", providerError{retryable: true}},
		{"the retry was refused", providerError{retryable: false}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				// The retry waits for release, and then ends with tc.end.
				release := make(chan struct{})
				ph := &maybeSent{fail: 1, next: notifyFunc(func(context.Context, klaxon.Page) error {
					<-release
					return tc.end
				})}
				st, e, id := pageDana(t, ph)
				n := pendingID(t, st, id)
				time.Sleep(10 * time.Second) // the retry
				synctest.Wait()
				require.EqualValues(t, 2, ph.tries.Load(), "the retry is in flight")

				require.NoError(t, e.Delivery(t.Context(), id, n, true, "completed"))
				close(release)
				timeline, text := settled(t, st, id)
				require.EqualValues(t, 2, ph.tries.Load(), text)
				requireReached(t, st, id, timeline, text)
			})
		})
	}
}
