package notify_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/notify"
	"github.com/klaxonhq/klaxon/notify/twilio"
)

// sink records pages, and fails them while fail is set.
type sink struct {
	mu    sync.Mutex
	pages []klaxon.Page
	fail  error
}

func (s *sink) Notify(_ context.Context, p klaxon.Page) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return s.fail
	}
	s.pages = append(s.pages, p)
	return nil
}

func TestThrottle(t *testing.T) {
	t0 := time.Date(2026, 11, 24, 3, 0, 0, 0, time.UTC)
	now := t0
	out := &sink{}
	th := smsLimit(out, &now, notify.ThrottleOptions{})
	alice := klaxon.User{ID: "alice"}
	page := func(id, via string) klaxon.Page {
		return klaxon.Page{Incident: id, User: alice, Via: via, Summary: "disk full on " + id}
	}

	require.NoError(t, th.Notify(t.Context(), page("1", klaxon.ViaSMS)), "the first page goes out")
	for _, id := range []string{"2", "3", "4"} {
		var d *klaxon.DeferredError
		require.ErrorAs(t, th.Notify(t.Context(), page(id, klaxon.ViaSMS)), &d)
		require.Equal(t, t0.Add(time.Minute), d.Until)
	}
	require.NoError(t, th.Notify(t.Context(), page("9", klaxon.ViaEmail)), "email has no limit")
	require.NoError(t, th.Notify(t.Context(), klaxon.Page{Incident: "2", User: klaxon.User{ID: "bob"}, Via: klaxon.ViaSMS}), "bob has his own")

	now = t0.Add(time.Minute)
	require.NoError(t, th.Notify(t.Context(), page("3", klaxon.ViaSMS)), "when the minute is up, one page goes out...")
	last := out.pages[len(out.pages)-1]
	require.Equal(t, 3, last.Bundle)
	require.Equal(t, "3 incidents for alice: #2 #3 #4. Reply AA to ack all", last.Text)
	require.Equal(t, []klaxon.PageRef{{Incident: "2"}, {Incident: "4"}}, last.Bundled, "the pages it stands for besides 3")
	require.ErrorIs(t, th.Notify(t.Context(), page("2", klaxon.ViaSMS)), klaxon.ErrBundled, "...standing for those that waited")
	require.ErrorIs(t, th.Notify(t.Context(), page("4", klaxon.ViaSMS)), klaxon.ErrBundled)
	require.Len(t, out.pages, 4)

	t.Run("a bundle that fails leaves the pages waiting", func(t *testing.T) {
		var d *klaxon.DeferredError
		require.ErrorAs(t, th.Notify(t.Context(), page("5", klaxon.ViaSMS)), &d)
		now = d.Until
		out.fail = errors.New("provider down")
		require.Error(t, th.Notify(t.Context(), page("6", klaxon.ViaSMS)))
		out.fail = nil
		require.NoError(t, th.Notify(t.Context(), page("6", klaxon.ViaSMS)))
		require.Equal(t, 2, out.pages[len(out.pages)-1].Bundle, "5 is still in the bundle")
		require.ErrorIs(t, th.Notify(t.Context(), page("5", klaxon.ViaSMS)), klaxon.ErrBundled)
	})
}

// TestThrottleLeavesOut: a bundle leaves out the pages that are no
// longer wanted (their incidents acknowledged while they waited), and a
// contact method that does not bundle (a call) sends the pages that
// waited one a limit each.
func TestThrottleLeavesOut(t *testing.T) {
	t0 := time.Date(2026, 11, 24, 3, 0, 0, 0, time.UTC)
	now := t0
	out := &sink{}
	acked := map[string]bool{"3": true}
	th := notify.NewThrottle(out, notify.ThrottleOptions{
		Limits:  map[string]time.Duration{klaxon.ViaSMS: time.Minute, klaxon.ViaVoice: time.Minute},
		Bundles: map[string]bool{klaxon.ViaSMS: true},
		Wanted:  func(_ context.Context, p klaxon.Page) bool { return !acked[p.Incident] },
		Now:     func() time.Time { return now },
	})
	alice := klaxon.User{ID: "alice"}
	page := func(id, via string) klaxon.Page { return klaxon.Page{Incident: id, User: alice, Via: via} }
	for _, via := range []string{klaxon.ViaSMS, klaxon.ViaVoice} {
		require.NoError(t, th.Notify(t.Context(), page("1", via)))
		for _, id := range []string{"2", "3", "4"} {
			var d *klaxon.DeferredError
			require.ErrorAs(t, th.Notify(t.Context(), page(id, via)), &d)
		}
	}

	now = t0.Add(time.Minute)
	require.NoError(t, th.Notify(t.Context(), page("2", klaxon.ViaSMS)))
	require.Equal(t, "2 incidents for alice: #2 #4. Reply AA to ack all", out.pages[len(out.pages)-1].Text, "3 was acknowledged")
	require.ErrorIs(t, th.Notify(t.Context(), page("4", klaxon.ViaSMS)), klaxon.ErrBundled)

	require.NoError(t, th.Notify(t.Context(), page("2", klaxon.ViaVoice)))
	call := out.pages[len(out.pages)-1]
	require.Zero(t, call.Bundle, "a call speaks one incident")
	require.Equal(t, "2", call.Incident)
	var d *klaxon.DeferredError
	require.ErrorAs(t, th.Notify(t.Context(), page("4", klaxon.ViaVoice)), &d, "4 waits for a call of its own")
	now = d.Until
	require.NoError(t, th.Notify(t.Context(), page("4", klaxon.ViaVoice)))
	require.Equal(t, "4", out.pages[len(out.pages)-1].Incident)
}

// during calls fn as its page goes out, then answers err; it counts
// the pages that went out in sent.
type during struct {
	fn   func()
	err  error
	sent []klaxon.Page
}

func (d *during) Notify(_ context.Context, p klaxon.Page) error {
	d.fn()
	if d.err == nil {
		d.sent = append(d.sent, p)
	}
	return d.err
}

// smsLimit is a throttle of a minute for SMS, which bundle, to next, on
// the clock *now, with the rest of o.
func smsLimit(next notify.Notifier, now *time.Time, o notify.ThrottleOptions) *notify.Throttle {
	o.Limits, o.Bundles = map[string]time.Duration{klaxon.ViaSMS: time.Minute}, map[string]bool{klaxon.ViaSMS: true}
	o.Now = func() time.Time { return *now }
	return notify.NewThrottle(next, o)
}

// smsThrottle is a throttle of a minute for SMS, which bundle, on the
// clock *now, sending through the during it returns.
func smsThrottle(now *time.Time) (*notify.Throttle, *during) {
	d := &during{fn: func() {}}
	return smsLimit(d, now, notify.ThrottleOptions{}), d
}

// TestThrottleBundleInFlight: a page bundled with another comes again
// while the bundle is on its way: it waits for it, and is not reported
// sent in it when it failed.
func TestThrottleBundleInFlight(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		t0 := time.Now()
		now := t0
		th, d := smsThrottle(&now)
		page := func(id string) klaxon.Page {
			return klaxon.Page{Incident: id, User: klaxon.User{ID: "alice"}, Via: klaxon.ViaSMS}
		}
		require.NoError(t, th.Notify(t.Context(), page("1")))
		var deferred *klaxon.DeferredError
		require.ErrorAs(t, th.Notify(t.Context(), page("2")), &deferred)
		require.ErrorAs(t, th.Notify(t.Context(), page("3")), &deferred)

		now = t0.Add(time.Minute)
		meanwhile := make(chan error, 1)
		d.fn = func() {
			d.fn = func() {}
			go func() { meanwhile <- th.Notify(t.Context(), page("3")) }()
			synctest.Wait() // 3 waits for its bundle
		}
		d.err = errors.New("provider down")
		require.Error(t, th.Notify(t.Context(), page("2")))
		err := <-meanwhile
		require.Error(t, err)
		require.NotErrorIs(t, err, klaxon.ErrBundled, "3 is not reported sent in a bundle that failed")

		d.err = nil
		require.NoError(t, th.Notify(t.Context(), page("2")), "the next try")
		require.ErrorAs(t, th.Notify(t.Context(), page("3")), &deferred, "3 failed on its own try, and waits for the next window")
	})
}

// TestThrottleBundleMarks: a bundle's mark is of the page it named,
// not of its incident: another page of that incident later (a snooze
// ended, an escalation) goes out; and a named page that comes again
// while its bundle is on its way, past the limit, is told as soon as
// the bundle went out, and does not go out alone.
func TestThrottleBundleMarks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		t0 := time.Now()
		now := t0
		th, d := smsThrottle(&now)
		page := func(id string, n int) klaxon.Page {
			return klaxon.Page{Incident: id, Notification: n, User: klaxon.User{ID: "alice"}, Via: klaxon.ViaSMS}
		}
		require.NoError(t, th.Notify(t.Context(), page("1", 1)))
		var deferred *klaxon.DeferredError
		require.ErrorAs(t, th.Notify(t.Context(), page("2", 1)), &deferred)
		require.ErrorAs(t, th.Notify(t.Context(), page("4", 1)), &deferred) // acknowledged later: never comes again

		now = t0.Add(time.Minute)
		meanwhile := make(chan error, 1)
		d.fn = func() {
			d.fn = func() {}
			now = now.Add(90 * time.Second) // a slow provider, past the limit
			go func() { meanwhile <- th.Notify(t.Context(), page("2", 1)) }()
			synctest.Wait()
		}
		require.NoError(t, th.Notify(t.Context(), page("3", 1)), "the bundle of 3, 2 and 4")
		require.ErrorIs(t, <-meanwhile, klaxon.ErrBundled, "2 came while its bundle was on its way: told once it went out, not sent alone")
		require.Len(t, d.sent, 2)

		now = now.Add(5 * time.Minute)
		require.NoError(t, th.Notify(t.Context(), page("4", 2)), "another page of 4, bundled before, goes out")
	})
}

// TestThrottleBundleFits: a bundle names the pages that waited as far as
// its text fits one SMS, the first incidents first, and only those are
// reported sent in it; the others wait for the next window, whose bundle
// names them. Before, the bundle took every page that waited, and the
// SMS, cut to its segment, named neither the last ones nor how to ack.
func TestThrottleBundleFits(t *testing.T) {
	t0 := time.Date(2026, 11, 24, 3, 0, 0, 0, time.UTC)
	now := t0
	out := &sink{}
	th := smsLimit(out, &now, notify.ThrottleOptions{Fits: twilio.BundleFits})
	alice := klaxon.User{ID: "alice", Phone: "+15550100001"}
	page := func(id int) klaxon.Page {
		return klaxon.Page{Incident: strconv.Itoa(id), Notification: 1, User: alice, Via: klaxon.ViaSMS, Summary: "disk full"}
	}
	require.NoError(t, th.Notify(t.Context(), page(999)))
	for id := 1000; id < 1030; id++ {
		var d *klaxon.DeferredError
		require.ErrorAs(t, th.Notify(t.Context(), page(id)), &d)
	}
	sent := map[int]bool{}
	for round := 1; len(sent) < 30; round++ {
		require.Less(t, round, 10, "every page goes out")
		now = now.Add(time.Minute)
		first := 0
		for id := 1000; id < 1030; id++ {
			if !sent[id] {
				first = id
				break
			}
		}
		require.NoError(t, th.Notify(t.Context(), page(first)))
		sent[first] = true
		sms := twilio.SMSText(out.pages[len(out.pages)-1])
		require.True(t, strings.HasSuffix(sms, "Reply AA to ack all"), "%q", sms)
		for id := first + 1; id < 1030; id++ {
			if sent[id] {
				continue
			}
			switch err := th.Notify(t.Context(), page(id)); {
			case errors.Is(err, klaxon.ErrBundled):
				require.Regexp(t, "#"+strconv.Itoa(id)+"[ .]", sms, "reported sent in it")
				sent[id] = true
			default:
				var d *klaxon.DeferredError
				require.ErrorAs(t, err, &d, "waits for the next bundle")
			}
		}
	}
}

// TestThrottlePageComingWhileBundleDecided: when a window opens, every
// page that waited comes again at once. The first takes the window and
// asks whether each of the others is still wanted before it names them;
// one that comes meanwhile waits to hear whether the bundle names it. Put
// off a whole limit instead, it was on record as sent only then, and an
// "AA" to the bundle that named it left it unacknowledged.
func TestThrottlePageComingWhileBundleDecided(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		now := time.Now()
		th, out, opened, answer := deciding(t, &now)
		came := make(chan error, 1)
		go func() { came <- th.Notify(t.Context(), alicePage("3", 1)) }()
		synctest.Wait()
		waits := len(came) == 0
		close(answer)
		require.NoError(t, <-opened)
		require.True(t, waits, "3 is not answered while the bundle that may name it is decided")
		require.ErrorIs(t, <-came, klaxon.ErrBundled, "3 is in the bundle")
		require.Equal(t, 2, out.pages[len(out.pages)-1].Bundle)
	})
}

// alicePage is notification n of incident id to alice by SMS.
func alicePage(id string, n int) klaxon.Page {
	return klaxon.Page{Incident: id, Notification: n, User: klaxon.User{ID: "alice"}, Via: klaxon.ViaSMS}
}

// deciding is alice's bundle being decided, on the clock *now: page 1
// went out, 2 and 3 waited; once the minute is up 2 takes the window, and
// asks whether 3 is still wanted, a store read that answers once answer
// is closed. opened is 2's outcome.
func deciding(t *testing.T, now *time.Time) (th *notify.Throttle, out *sink, opened <-chan error, answer chan struct{}) {
	asking := make(chan struct{})
	answer, out = make(chan struct{}), &sink{}
	th = smsLimit(out, now, notify.ThrottleOptions{
		Wanted: func(ctx context.Context, p klaxon.Page) bool {
			if p.Incident == "3" && p.Notification == 1 {
				close(asking)
				<-answer
			}
			return true
		}})
	require.NoError(t, th.Notify(t.Context(), alicePage("1", 1)))
	var deferred *klaxon.DeferredError
	require.ErrorAs(t, th.Notify(t.Context(), alicePage("2", 1)), &deferred)
	require.ErrorAs(t, th.Notify(t.Context(), alicePage("3", 1)), &deferred)
	*now = now.Add(time.Minute)
	o := make(chan error, 1)
	go func() { o <- th.Notify(t.Context(), alicePage("2", 1)) }()
	<-asking
	return th, out, o, answer
}

// TestThrottleUnnamedNotHeldBySend: a page that waited and that the
// bundle does not name (it would not fit) is put off at once when it
// comes again, not held, with its slot, while the bundle goes out to a
// slow provider; and only the pages a bundle can name are asked whether
// they are still wanted, each a read of the store.
func TestThrottleUnnamedNotHeldBySend(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		t0 := time.Now()
		now := t0
		d := &during{fn: func() {}}
		var asked []string
		th := smsLimit(d, &now, notify.ThrottleOptions{
			Wanted: func(_ context.Context, p klaxon.Page) bool { asked = append(asked, p.Incident); return true },
			Fits:   func(p klaxon.Page) bool { return p.Bundle <= 3 }})
		page := func(id string) klaxon.Page {
			return klaxon.Page{Incident: id, Notification: 1, User: klaxon.User{ID: "alice"}, Via: klaxon.ViaSMS}
		}
		require.NoError(t, th.Notify(t.Context(), page("1")))
		var deferred *klaxon.DeferredError
		for _, id := range []string{"2", "3", "4", "5", "6", "7"} {
			require.ErrorAs(t, th.Notify(t.Context(), page(id)), &deferred)
		}

		now = t0.Add(time.Minute)
		sent, unblock := make(chan struct{}), make(chan struct{})
		d.fn = func() { close(sent); <-unblock } // a slow provider
		opened := make(chan error, 1)
		go func() { opened <- th.Notify(t.Context(), page("2")) }()
		<-sent
		require.Equal(t, []string{"3", "4", "5"}, asked, "asked until the bundle was full")
		came := make(chan error, 1)
		go func() { came <- th.Notify(t.Context(), page("6")) }()
		synctest.Wait()
		held := len(came) == 0
		close(unblock)
		require.NoError(t, <-opened)
		require.False(t, held, "6, which the bundle does not name, is not held while it goes out")
		require.ErrorAs(t, <-came, &deferred)
		require.Equal(t, []klaxon.PageRef{{Incident: "3", Notification: 1}, {Incident: "4", Notification: 1}}, d.sent[len(d.sent)-1].Bundled)
	})
}

// gate is a provider: a page of an incident in block waits until its
// channel is closed, then fails with fail; every other goes out at once.
type gate struct {
	mu    sync.Mutex
	block map[string]chan struct{}
	fail  error
	sent  []klaxon.Page
}

func (g *gate) Notify(_ context.Context, p klaxon.Page) error {
	g.mu.Lock()
	c := g.block[p.Incident]
	g.mu.Unlock()
	if c != nil {
		<-c
		return g.fail
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.sent = append(g.sent, p)
	return nil
}

// TestThrottleFailedSlowSendKeepsNewerWindow: a page's send to a
// provider that hangs outlasts the limit (the page timeout and the SMS
// limit are both a minute), another page takes the next window and goes
// out, then the slow one fails. Giving its window back must not give
// back the newer one: a third page a second later waits.
func TestThrottleFailedSlowSendKeepsNewerWindow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		t0 := time.Now()
		now := t0
		release := make(chan struct{})
		g := &gate{block: map[string]chan struct{}{"2": release}, fail: errors.New("twilio: 504")}
		th := smsLimit(g, &now, notify.ThrottleOptions{})
		page := func(id string) klaxon.Page {
			return klaxon.Page{Incident: id, Notification: 1, User: klaxon.User{ID: "alice"}, Via: klaxon.ViaSMS}
		}
		var deferred *klaxon.DeferredError
		require.NoError(t, th.Notify(t.Context(), page("1")))
		require.ErrorAs(t, th.Notify(t.Context(), page("2")), &deferred)

		now = t0.Add(time.Minute)
		slow := make(chan error, 1)
		go func() { slow <- th.Notify(t.Context(), page("2")) }() // takes the window; the provider hangs
		synctest.Wait()
		require.ErrorAs(t, th.Notify(t.Context(), page("4")), &deferred)

		now = t0.Add(2 * time.Minute)
		require.NoError(t, th.Notify(t.Context(), page("4")), "the next window: 4 goes out")
		close(release)
		require.Error(t, <-slow)

		now = now.Add(time.Second)
		require.ErrorAs(t, th.Notify(t.Context(), page("5")), &deferred, "5, a second after 4 went out, waits")
		require.Len(t, g.sent, 2)
	})
}

// TestThrottleNewerPageWhileBundleDecided: a newer page of an incident
// that waited (escalated by hand) comes while the bundle is decided. It
// was not the page asked whether it is wanted, and it is put off: the
// bundle does not name it, and it goes out in the next window.
func TestThrottleNewerPageWhileBundleDecided(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		now := time.Now()
		th, out, opened, answer := deciding(t, &now)
		newer := make(chan error, 1)
		go func() { newer <- th.Notify(t.Context(), alicePage("3", 2)) }()
		synctest.Wait()
		close(answer)
		require.NoError(t, <-opened)
		require.Empty(t, out.pages[len(out.pages)-1].Bundled, "the bundle names no page of 3 it did not ask of")
		var deferred *klaxon.DeferredError
		require.ErrorAs(t, <-newer, &deferred)

		now = now.Add(time.Minute)
		require.NoError(t, th.Notify(t.Context(), alicePage("3", 2)), "3's newer page goes out in the next window")
	})
}

// TestThrottleBundleNamesOnlyPagesDue: a send that fails gives its
// window back, so the window opens again before the pages put off while
// it hung are due. A bundle then does not name them: the engine records
// each sent only once it comes due, and an AA to a bundle that named
// one before then would leave it unacknowledged.
func TestThrottleBundleNamesOnlyPagesDue(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		now := time.Now()
		t0 := now
		th, g := givenBack(t, &now, 90*time.Second, "3")
		now = t0.Add(10 * time.Second)
		require.NoError(t, th.Notify(t.Context(), alicePage("2", 1)), "2's retry takes the window given back")
		require.Empty(t, g.sent[len(g.sent)-1].Bundled, "3, put off to t0+1m, is not named at t0+10s")

		now = t0.Add(time.Minute)
		var deferred *klaxon.DeferredError
		require.ErrorAs(t, th.Notify(t.Context(), alicePage("3", 1)), &deferred, "3 waits for its own window")
		now = deferred.Until
		require.NoError(t, th.Notify(t.Context(), alicePage("3", 1)))
	})
}

// givenBack is alice's window given back, in a synctest bubble, on the
// clock *now (t0): her last SMS went out before t0 (none when before is
// 0); at t0 page 2 takes the window and its provider hangs; the pages of
// putOff are put off to t0+1m meanwhile; then 2 fails, giving the
// window back. The provider sends every page from then on.
func givenBack(t *testing.T, now *time.Time, before time.Duration, putOff ...string) (*notify.Throttle, *gate) {
	t0 := *now
	*now = t0.Add(-before)
	release := make(chan struct{})
	g := &gate{block: map[string]chan struct{}{"2": release}, fail: errors.New("twilio: 503")}
	th := smsLimit(g, now, notify.ThrottleOptions{})
	if before > 0 {
		require.NoError(t, th.Notify(t.Context(), alicePage("1", 1)))
	}
	*now = t0
	failed := make(chan error, 1)
	go func() { failed <- th.Notify(t.Context(), alicePage("2", 1)) }() // takes the window; the provider hangs
	synctest.Wait()
	for _, id := range putOff {
		var deferred *klaxon.DeferredError
		require.ErrorAs(t, th.Notify(t.Context(), alicePage(id, 1)), &deferred)
		require.Equal(t, t0.Add(time.Minute), deferred.Until)
	}
	close(release)
	require.Error(t, <-failed, "the window is given back")
	g.mu.Lock()
	delete(g.block, "2")
	g.mu.Unlock()
	return th, g
}

// TestThrottleGivenBackToStaleWindowKeepsWaiting: page 2 takes the
// window at t0 and its provider hangs; 3 and 4 are put off to t0+1m
// meanwhile; 2 then fails and gives the window back, to alice's last SMS
// an hour ago, or to none. At t0+1m, 3 and 4 both come due: 3 takes the
// window and its bundle names 4. A waiting page is forgotten by when it
// was due, not by the window given back.
func TestThrottleGivenBackToStaleWindowKeepsWaiting(t *testing.T) {
	for name, before := range map[string]time.Duration{"first window (zero last)": 0, "last page an hour ago": time.Hour} {
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				now := time.Now()
				t0 := now
				th, g := givenBack(t, &now, before, "3", "4")
				now = t0.Add(time.Minute) // 3 and 4 are both due
				require.NoError(t, th.Notify(t.Context(), alicePage("3", 1)))
				require.Equal(t, []klaxon.PageRef{{Incident: "4", Notification: 1}}, g.sent[len(g.sent)-1].Bundled, "4, due at the same time, is named")
				require.ErrorIs(t, th.Notify(t.Context(), alicePage("4", 1)), klaxon.ErrBundled)
			})
		})
	}
}

// TestThrottleCallsTakeTurns: by a contact method that does not bundle
// (a call), the pages that waited go one a window, the first incident
// first. A later incident's page that finds the window open while an
// earlier one's is due gives it the window and comes again a moment
// later; one whose earlier page is no longer wanted (acknowledged while
// it waited), or did not come back within a window, takes it.
func TestThrottleCallsTakeTurns(t *testing.T) {
	t0 := time.Date(2026, 11, 24, 3, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		name   string
		acked  bool          // incident 2 acknowledged while its call waited
		later  time.Duration // when 3's call comes, past the window's opening
		sent   string        // whose call 3's finds going out first
		waited bool          // 3's call gives the window away
	}{
		{"an earlier call due takes the window first", false, 0, "2", true},
		{"an earlier call acknowledged meanwhile is skipped", true, 0, "3", false},
		{"an earlier call not back within a window is let go", false, time.Minute, "3", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			now := t0
			out := &sink{}
			th := notify.NewThrottle(out, notify.ThrottleOptions{
				Limits: map[string]time.Duration{klaxon.ViaVoice: time.Minute},
				Wanted: func(_ context.Context, p klaxon.Page) bool { return !(tt.acked && p.Incident == "2") },
				Now:    func() time.Time { return now },
			})
			call := func(id string) klaxon.Page {
				return klaxon.Page{Incident: id, User: klaxon.User{ID: "alice"}, Via: klaxon.ViaVoice}
			}
			require.NoError(t, th.Notify(t.Context(), call("1")))
			var d *klaxon.DeferredError
			require.ErrorAs(t, th.Notify(t.Context(), call("2")), &d, "2 waits for the next window")

			now = d.Until.Add(tt.later)
			err := th.Notify(t.Context(), call("3"))
			if !tt.waited {
				require.NoError(t, err)
				require.Equal(t, tt.sent, out.pages[len(out.pages)-1].Incident)
				return
			}
			require.ErrorAs(t, err, &d, "3 gives the window to 2, due now")
			require.Equal(t, now.Add(2*time.Second), d.Until, "and comes again a moment later")
			require.NoError(t, th.Notify(t.Context(), call("2")))
			require.Equal(t, "2", out.pages[len(out.pages)-1].Incident)
			now = d.Until
			require.ErrorAs(t, th.Notify(t.Context(), call("3")), &d, "the window is 2's: 3 waits for the next")
			require.Equal(t, t0.Add(2*time.Minute), d.Until)
		})
	}
}
