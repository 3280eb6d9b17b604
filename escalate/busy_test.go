package escalate_test

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/escalate"
)

// stuckSMS sends every page at once but SMS, which waits until release
// is closed, as behind a provider that answers slowly.
type stuckSMS struct {
	phone
	entered chan string // each SMS's incident, as it starts
	release chan struct{}
	once    sync.Once
	// took, when set, is how long each SMS takes instead: a provider
	// that answers slowly, and does answer.
	took time.Duration
}

// free lets the SMS go, those waiting and those to come.
func (s *stuckSMS) free() { s.once.Do(func() { close(s.release) }) }

func (s *stuckSMS) Notify(ctx context.Context, pg klaxon.Page) error {
	if pg.Via == klaxon.ViaSMS && s.took > 0 {
		time.Sleep(s.took)
	} else if pg.Via == klaxon.ViaSMS {
		s.entered <- pg.Incident
		select {
		case <-s.release:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return s.phone.Notify(ctx, pg)
}

// busyChannel runs an engine with o over a new embedded store, its
// users paged by SMS (sms1 to sms9) or by email (mail), the SMS behind
// the returned stuckSMS. open opens an incident paging one user.
func busyChannel(t *testing.T, o escalate.Options) (open func(users ...string) string, s *stuckSMS, stop func()) {
	_, open, s, stop = busyStore(t, o)
	return open, s, stop
}

// busyStore is busyChannel, with its store.
func busyStore(t *testing.T, o escalate.Options) (st klaxon.Store, open func(users ...string) string, s *stuckSMS, stop func()) {
	st = openStore(t)
	dir := smsUsers()
	dir["mail"] = klaxon.User{ID: "mail", Notify: []klaxon.NotifyRule{{Via: klaxon.ViaEmail}}}
	s = &stuckSMS{entered: make(chan string, 16), release: make(chan struct{})}
	e, stopEngine := startEngine(t, st, s, dir, o)
	stop = func() {
		s.free()
		require.NoError(t, stopEngine())
	}
	t.Cleanup(stop) // a test that failed leaves nothing blocked
	open = func(users ...string) string {
		id := openIncident(t, st, oneStep(users...), time.Now())
		e.Wake()
		return id
	}
	return st, open, s, stop
}

// TestSlowChannelHoldsNoOtherChannel: incidents whose SMS waits for the
// one SMS slot, held by a page to a provider that does not answer, do
// not use up the incidents the engine pages for at once: an incident
// that pages by email gets its page out meanwhile.
func TestSlowChannelHoldsNoOtherChannel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		open, s, stop := busyChannel(t, escalate.Options{Incidents: 2, PerChannel: 1})
		open("sms1")
		first := <-s.entered
		open("sms2")
		time.Sleep(time.Second)
		synctest.Wait() // sms2's page waits for the slot sms1's holds
		require.Empty(t, s.entered)

		open("mail")
		time.Sleep(10 * time.Second) // well within the page timeout
		synctest.Wait()
		require.Equal(t, []string{"mail/email"}, s.got(), "the email went out while both SMS waited")

		s.free()
		time.Sleep(time.Minute)
		synctest.Wait()
		stop()
		require.ElementsMatch(t, []string{"mail/email", "sms1/sms", "sms2/sms"}, s.got(), "every page once")
		require.NotEmpty(t, first)
	})
}

// TestWaitForChannelNoTimeout: a page that waits for its channel longer
// than the page timeout, behind pages to a provider that takes 40 s to
// answer each, is not cut off by it: every page goes out on its first
// try, none failed.
func TestWaitForChannelNoTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st, open, s, stop := busyStore(t, escalate.Options{PerChannel: 1, PageTimeout: time.Minute})
		s.took = 40 * time.Second
		ids := []string{open("sms1"), open("sms2"), open("sms3")}
		time.Sleep(3 * time.Minute)
		synctest.Wait()
		stop()
		require.ElementsMatch(t, []string{"sms1/sms", "sms2/sms", "sms3/sms"}, s.got())
		for _, id := range ids {
			timeline, err := klaxon.ReadTimeline(t.Context(), st, id)
			require.NoError(t, err)
			var kinds []klaxon.EventKind
			for _, ev := range timeline {
				if ev.Kind == klaxon.EventPageSent || ev.Kind == klaxon.EventPageFailed {
					kinds = append(kinds, ev.Kind)
				}
			}
			require.Equal(t, []klaxon.EventKind{klaxon.EventPageSent}, kinds, id)
		}
	})
}

// hungSMS is a provider client whose SMS never answers and does not
// heed its context, until release is closed: a page that hangs past the
// page timeout. Other methods go out at once.
type hungSMS struct {
	phone
	entered chan string
	release chan struct{}
}

func (s *hungSMS) Notify(ctx context.Context, pg klaxon.Page) error {
	if pg.Via == klaxon.ViaSMS {
		s.entered <- pg.Incident
		<-s.release
	}
	return s.phone.Notify(ctx, pg)
}

// busySMS takes took for each SMS, and answers.
type busySMS struct {
	phone
	took time.Duration
}

func (s *busySMS) Notify(ctx context.Context, pg klaxon.Page) error {
	if pg.Via == klaxon.ViaSMS {
		time.Sleep(s.took)
	}
	return s.phone.Notify(ctx, pg)
}

// replicas runs engines over one embedded store, as replicas share
// Redis; users sms1 to sms9 are paged by SMS. run starts one more
// engine; open opens an incident whose one step pages users.
func replicas(t *testing.T) (run func(n escalate.Notifier, o escalate.Options), open func(users ...string) string) {
	st := openStore(t)
	dir := smsUsers()
	var mu sync.Mutex
	var engines []*escalate.Engine
	run = func(n escalate.Notifier, o escalate.Options) {
		e, _ := startEngine(t, st, n, dir, o)
		mu.Lock()
		engines = append(engines, e)
		mu.Unlock()
	}
	open = func(users ...string) string {
		id := openIncident(t, st, oneStep(users...), time.Now())
		mu.Lock()
		for _, e := range engines {
			e.Wake()
		}
		mu.Unlock()
		return id
	}
	return run, open
}

// TestWaitBehindHungPageLeftToAnotherReplica: an SMS that waits for the
// slot of a page hung past the page timeout is not held on this replica
// for ever: its claim lapses, as the hung page's does, and a healthy
// replica sends it.
func TestWaitBehindHungPageLeftToAnotherReplica(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		run, open := replicas(t)
		hung := &hungSMS{entered: make(chan string, 4), release: make(chan struct{})}
		run(hung, escalate.Options{PerChannel: 1, PageTimeout: time.Minute})
		t.Cleanup(func() { close(hung.release) }) // runs before the engines stop
		open("sms1")
		<-hung.entered // sms1's SMS hangs, holding the one SMS slot
		open("sms2")
		time.Sleep(time.Second)
		synctest.Wait() // sms2's SMS waits for that slot

		healthy := &phone{}
		run(healthy, escalate.Options{})
		time.Sleep(30 * time.Minute)
		synctest.Wait()
		require.Contains(t, healthy.got(), "sms1/sms", "the hung page's claim lapsed: another replica sent it")
		require.Contains(t, healthy.got(), "sms2/sms", "the page waiting behind it is sent by the healthy replica")
	})
}

// TestBusyReplicaLeavesWorkToFreeReplica: a replica whose SMS channel is
// busy does not keep incidents it cannot page for minutes while another
// replica has its SMS channel free.
func TestBusyReplicaLeavesWorkToFreeReplica(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		run, open := replicas(t)
		busy := &busySMS{took: 50 * time.Second} // answers, within the page timeout
		run(busy, escalate.Options{Incidents: 2, PerChannel: 1})
		for i := 1; i <= 4; i++ {
			open("sms" + string(rune('0'+i)))
		}
		time.Sleep(time.Second)
		synctest.Wait() // one SMS goes out, the others wait for the slot

		free := &phone{}
		run(free, escalate.Options{Incidents: 2, PerChannel: 1})
		time.Sleep(10 * time.Second)
		synctest.Wait()
		require.NotEmpty(t, free.got(), "the free replica pages what the busy one cannot for 50 s to 150 s")
	})
}

// TestPutOffBehindHungPageInSameIncident: one incident pages two users
// by SMS; the first SMS hangs past the page timeout holding the only SMS
// slot, and the second is put off (busy) again and again. The claim
// lapses all the same, and a healthy replica takes the incident over.
// Each put-off page's new try extended the claim by the page timeout,
// so it never lapsed.
func TestPutOffBehindHungPageInSameIncident(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		run, open := replicas(t)
		hung := &hungSMS{entered: make(chan string, 4), release: make(chan struct{})}
		run(hung, escalate.Options{PerChannel: 1, PageTimeout: time.Minute})
		t.Cleanup(func() { close(hung.release) }) // runs before the engines stop
		open("sms1", "sms2")
		<-hung.entered // one SMS hangs, holding the one SMS slot
		time.Sleep(time.Second)
		synctest.Wait()

		healthy := &phone{}
		run(healthy, escalate.Options{})
		time.Sleep(30 * time.Minute)
		synctest.Wait()
		require.NotEmpty(t, healthy.got(), "30 min on, a healthy replica has paged: the hung one gave the incident up")
	})
}

// oneStep is a policy whose one step pages users, and escalates after an
// hour.
func oneStep(users ...string) klaxon.Policy {
	var targets []klaxon.Target
	for _, u := range users {
		targets = append(targets, klaxon.Target{Kind: klaxon.TargetUser, Name: u})
	}
	return klaxon.Policy{Name: "p", Steps: []klaxon.Step{{Targets: targets, EscalateAfter: time.Hour}}}
}

// smsUsers are sms1 to sms9, each paged by SMS.
func smsUsers() directory {
	dir := directory{}
	for i := 1; i <= 9; i++ {
		id := "sms" + string(rune('0'+i))
		dir[id] = klaxon.User{ID: id, Notify: []klaxon.NotifyRule{{Via: klaxon.ViaSMS}}}
	}
	return dir
}

// startEngine runs an engine over st, paging the users of dir with n
// (see runEngine).
func startEngine(t *testing.T, st klaxon.Store, n escalate.Notifier, dir directory, o escalate.Options) (*escalate.Engine, func() error) {
	e := escalate.New(st, n, func() escalate.Directory { return dir }, slog.New(slog.DiscardHandler), o)
	return e, runEngine(t, e)
}
