package escalate

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"

	"github.com/klaxonhq/klaxon/telemetry"

	"github.com/klaxonhq/klaxon"
)

// Notifier delivers a page to a person.
type Notifier interface {
	Notify(ctx context.Context, p klaxon.Page) error
}

// carrier is a Notifier that may carry a page by another channel than
// its contact method (the console standing in for one not configured),
// and says which: the timeline and the metrics then name that channel,
// so that a page nobody could receive is never recorded as delivered.
type carrier interface {
	Carrier(via string) string
}

// Directory tells the engine who a target is.
type Directory interface {
	User(id string) (klaxon.User, bool)
	// OnCall returns the IDs of the users on call in schedule at t; an
	// error matching klaxon.ErrNotFound when there is no such schedule.
	OnCall(ctx context.Context, schedule string, t time.Time) ([]string, error)
	// Fallback returns the IDs of the users paged when a walk of a policy
	// reached nobody.
	Fallback() []string
}

// Options tune the engine; zero values take the defaults.
type Options struct {
	// Lease is how long a claimed timer belongs to this engine before
	// another may claim it (default 15s). The engine renews the leases of
	// the timers it is paging for, so it bounds how late a step pages
	// when the engine that claimed it crashes.
	Lease time.Duration
	// Poll is the longest the engine sleeps before it looks for due timers
	// that another replica set (default 1s).
	Poll time.Duration
	// PageTimeout bounds one try of a page (default 1m). A page still
	// hanging then counts as failed and is tried again, and its claim is
	// renewed no longer: another replica may take the incident over.
	PageTimeout time.Duration
	// Retry spaces the tries of a page that failed on an error that may
	// pass, and of an on-call lookup that failed (default 10s doubling
	// to 2m).
	Retry Backoff
	// Incidents bounds the incidents the engine pages for at once
	// (default 256), besides those whose pages wait for their channel
	// (PerChannel).
	Incidents int
	// PerChannel bounds the pages in flight by each contact method (sms,
	// voice, email, ...; default 32), and the pages that wait for one of
	// them to finish. A page beyond it waits a moment for one to finish
	// (slotWait), then is put off a moment (busyRetry), and its
	// incident's claim given up if it pages nothing else; one that finds
	// as many pages waiting already does not wait (turnedAway). A page
	// that waits for its channel does not count among Incidents: pages
	// by other methods, of other incidents too, and other replicas,
	// whose channel may be free, do not wait for it.
	PerChannel int
	// Now is the clock (default time.Now).
	Now func() time.Time
	// MaxSnooze returns the longest snooze, read at each snooze so that
	// a reload applies; nil, or a result that is not positive, is
	// klaxon.DefaultMaxSnooze.
	MaxSnooze func() time.Duration
	// Committed, when set, takes the incidents of each commit of a
	// command or of the walk (pages sent, failed or delivered, steps,
	// triggering again) that landed, with the events it recorded.
	Committed func([]*klaxon.Incident)
	// Unsure, when set, takes the incidents of each such commit that
	// failed in a way that may have landed all the same (its reply was
	// lost): their state is for a reader to read again from the store,
	// and the events recorded may or may not be on their timelines.
	Unsure func([]*klaxon.Incident)
	// Heartbeat takes the timers that are heartbeats' deadlines
	// (klaxon.ParseHeartbeatTimer), claimed as any other, and lets each
	// go with its claim when done; nil lets them go untouched.
	Heartbeat func(ctx context.Context, t klaxon.Timer) error
	// Held says which maintenance windows hold the firing alerts of an
	// incident whose first page a window held: when that hold ends, the
	// engine asks again before it pages, and another window that holds
	// every firing alert still holds the page on. nil pages then.
	Held Held
	// Metrics is where the engine registers its metrics; nil for none.
	Metrics prometheus.Registerer
	// Tracing makes a span of each page around its provider's call,
	// linked to the trace that opened the incident; nil for none.
	Tracing trace.TracerProvider
	// Shared counts the incidents the commands acknowledge and resolve,
	// and the store's failures the engine meets; nil for none.
	Shared *telemetry.Metrics
}

// metrics are what the engine counts.
type metrics struct {
	pages     *prometheus.CounterVec
	firstPage prometheus.Histogram
	lateness  prometheus.Histogram
}

// newMetrics registers the engine's metrics with reg (nil for none);
// held counts the claims the engine holds, and room how many more
// incidents it may take now.
func newMetrics(reg prometheus.Registerer, held, room func() int) *metrics {
	m := &metrics{
		pages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "klaxon_pages_total",
			Help: "Pages handed to a channel, by channel and result (sent, failed, retried, deferred, bundled, busy).",
		}, []string{"channel", "result"}),
		firstPage: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "klaxon_first_page_seconds",
			Help:    "From an incident opening to its first page going out.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}),
		lateness: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "klaxon_escalation_lateness_seconds",
			Help:    "From an escalation timer's due time to its claim by the engine.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}),
	}
	if reg != nil {
		reg.MustRegister(m.pages, m.firstPage, m.lateness, prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "klaxon_engine_claims_held",
			Help: "Escalation timers this replica has claimed and is firing.",
		}, func() float64 { return float64(held()) }), prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "klaxon_engine_claims_room",
			Help: "Incidents this replica may still take to page for at once, less those it fires whose pages do not wait for their channel; at 0, timers that fall due wait, and their pages are late.",
		}, func() float64 { return float64(room()) }))
	}
	return m
}

// Engine claims due timers and walks each incident's policy: it pages,
// escalates and records what it sent on the timeline. It fires the
// incidents it claimed concurrently, each in its own goroutine, and
// renews their claims while their pages are in flight.
type Engine struct {
	store       klaxon.Store
	notifier    Notifier
	dir         func() Directory
	log         *slog.Logger
	lease       time.Duration
	poll        time.Duration
	pageTimeout time.Duration
	retry       Backoff
	now         func() time.Time
	maxSnooze   func() time.Duration
	heartbeat   func(ctx context.Context, t klaxon.Timer) error
	committed   func([]*klaxon.Incident)
	unsure      func([]*klaxon.Incident)
	held        Held
	// left counts the pages a stopping engine left for the next start
	// (hold.quit).
	left  atomic.Int64
	wake  chan struct{}
	woken wakes
	// full says the last look ran out of room for what was due: the next
	// one looks over every group.
	full       atomic.Bool
	metrics    *metrics
	tracer     trace.Tracer // nil: no spans
	shared     *telemetry.Metrics
	claims     *claims
	perChannel int

	// ticking is held (a send) by a tick from its claim until the fires
	// of what it claimed are held in claims, and by RunOnce throughout:
	// RunOnce's wait for the fires in flight then covers those of a
	// tick of Run's that claimed before it. A channel, not a mutex, so
	// that a synctest bubble sees a goroutine waiting for it as blocked.
	ticking chan struct{}

	slotsMu sync.Mutex
	slots   map[string]*channel // by contact method
}

// recordTimeout bounds recording the pages that went out.
const recordTimeout = 30 * time.Second

// claimBatch is the most timers one Claim takes.
const claimBatch = 64

// New returns an engine. dir is called for each escalation, so a reloaded
// directory takes effect for the next step.
func New(store klaxon.Store, notifier Notifier, dir func() Directory, log *slog.Logger, o Options) *Engine {
	e := &Engine{store: store, notifier: notifier, dir: dir, log: log.With("component", "escalate"),
		lease: o.Lease, poll: o.Poll, pageTimeout: o.PageTimeout, retry: o.Retry, now: o.Now, maxSnooze: o.MaxSnooze,
		wake: make(chan struct{}, 1), ticking: make(chan struct{}, 1), shared: o.Shared, heartbeat: o.Heartbeat, committed: o.Committed, unsure: o.Unsure, held: o.Held}
	if o.Tracing != nil {
		e.tracer = o.Tracing.Tracer("github.com/klaxonhq/klaxon/escalate")
	}
	if e.lease <= 0 {
		e.lease = 15 * time.Second
	}
	if e.poll <= 0 {
		e.poll = time.Second
	}
	if e.pageTimeout <= 0 {
		e.pageTimeout = time.Minute
	}
	if e.retry.First <= 0 {
		e.retry.First = 10 * time.Second
	}
	if e.retry.Max < e.retry.First {
		e.retry.Max = max(2*time.Minute, e.retry.First)
	}
	if e.now == nil {
		e.now = time.Now
	}
	if e.maxSnooze == nil {
		e.maxSnooze = func() time.Duration { return klaxon.DefaultMaxSnooze }
	}
	if o.Incidents <= 0 {
		o.Incidents = 256
	}
	e.claims = newClaims(o.Incidents)
	e.metrics = newMetrics(o.Metrics, e.claims.count, e.claims.room)
	e.perChannel = o.PerChannel
	if e.perChannel <= 0 {
		e.perChannel = 32
	}
	e.slots = map[string]*channel{}
	return e
}

// follow waits for the fire before h of the same incident to end: one
// that released the claim ends at once. One that does not end within the
// margin has a page that hangs past the page timeout: h gives up its
// claim, which lapses, and another replica takes the incident.
func (e *Engine) follow(prev, h *hold) bool {
	t := time.NewTimer(e.margin())
	defer t.Stop()
	select {
	case <-prev.done:
		return true
	case <-t.C:
		h.lose()
		e.log.Warn("a page still hangs: leaving the incident to another replica", "incident", h.timer.Incident)
		return false
	}
}

// Wake tells the engine that a timer of groups may be due now, or any
// timer when no group is named. It never blocks.
func (e *Engine) Wake(groups ...string) {
	e.woken.add(groups)
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// Run claims due timers and fires them until ctx ends, then waits for the
// fires in flight: each finishes and records what it sent. Timers that
// fell due while no engine ran fire at once.
func (e *Engine) Run(ctx context.Context) error {
	renewCtx, stopRenew := context.WithCancel(context.WithoutCancel(ctx))
	renewed := make(chan struct{})
	go func() {
		defer close(renewed)
		e.renew(renewCtx)
	}()
	defer func() {
		e.claims.wait()
		stopRenew()
		<-renewed
		if n := e.left.Swap(0); n > 0 {
			e.log.Info("stopped: pages left for the next start, or another replica", "pages", n)
		}
	}()
	// Woken for some groups, the engine claims their timers alone (see
	// wakes); it looks over every group at least every poll, when next
	// is due, and when woken for all.
	gc, _ := e.store.(klaxon.GroupClaimer)
	var next, lastFull time.Time
	for {
		groups, all := e.woken.take()
		now := e.now()
		byGroup := gc != nil && !all && len(groups) > 0 && !e.full.Load() &&
			now.Sub(lastFull) < e.poll && (next.IsZero() || now.Before(next)) // the first look is over all: lastFull is zero
		var err error
		if byGroup {
			var n time.Time
			n, _, err = e.tick(ctx, func(at time.Time, room int) ([]klaxon.Timer, time.Time, error) {
				return gc.ClaimGroups(ctx, at, e.lease, room, groups)
			})
			if next.IsZero() || (!n.IsZero() && n.Before(next)) {
				next = n
			}
		} else {
			lastFull = now
			e.full.Store(false)
			next, _, err = e.tick(ctx, nil)
		}
		if err != nil && ctx.Err() == nil {
			e.log.Error("claim due timers", "err", err)
			e.shared.StoreError(telemetry.StoreEngine, err)
		}
		wait := max(e.poll-e.now().Sub(lastFull), 0)
		if !next.IsZero() {
			wait = min(wait, max(next.Sub(e.now()), 0))
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-e.wake:
			t.Stop()
		case <-t.C:
		}
	}
}

// RunOnce claims the timers due now and fires them, again while their
// fires leave timers due now, and returns once every fire is done, with
// when the next timer is due (zero for none): Run's turns, for tests
// that move a fake clock and look at what was paged, and at what was
// not. When Run runs too, RunOnce waits for its claims and fires in
// flight, and Run claims nothing meanwhile: a timer Run claimed just
// before, which RunOnce finds leased, has fired too when it returns.
func (e *Engine) RunOnce(ctx context.Context) (time.Time, error) {
	if err := e.lockTicks(ctx); err != nil {
		return time.Time{}, err
	}
	defer e.unlockTicks()
	e.claims.wait() // their end may leave timers due now
	for {
		next, claimed, err := e.claimAndFire(ctx, nil)
		e.claims.wait()
		if err != nil || claimed == 0 {
			return next, err
		}
	}
}

// lockTicks takes ticking, unless ctx ends first; unlockTicks gives it
// back.
func (e *Engine) lockTicks(ctx context.Context) error {
	select {
	case e.ticking <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (e *Engine) unlockTicks() { <-e.ticking }

// tick is claimAndFire with ticking held.
func (e *Engine) tick(ctx context.Context, claim func(at time.Time, room int) ([]klaxon.Timer, time.Time, error)) (time.Time, int, error) {
	if err := e.lockTicks(ctx); err != nil {
		return time.Time{}, 0, err
	}
	defer e.unlockTicks()
	return e.claimAndFire(ctx, claim)
}

// claimAndFire claims the timers due now, as many as the engine has room
// for, with claim (nil: the store's Claim), and fires each in its own
// goroutine. It returns when the next timer is due, and how many it
// claimed. Its caller holds ticking.
func (e *Engine) claimAndFire(ctx context.Context, claim func(at time.Time, room int) ([]klaxon.Timer, time.Time, error)) (next time.Time, claimed int, err error) {
	if claim == nil {
		claim = func(at time.Time, room int) ([]klaxon.Timer, time.Time, error) {
			return e.store.Claim(ctx, at, e.lease, room)
		}
	}
	for {
		room := min(e.claims.room(), claimBatch)
		if room == 0 {
			// A fire that ends wakes the engine, which then looks over
			// every group: what was left may be of any.
			e.full.Store(true)
			return time.Time{}, claimed, nil
		}
		at := e.now()
		var due []klaxon.Timer
		due, next, err = claim(at, room)
		if err != nil {
			return time.Time{}, claimed, err
		}
		claimed += len(due)
		for _, t := range due {
			e.metrics.lateness.Observe(max(at.Sub(t.Due), 0).Seconds())
			prev := e.claims.firing(t.Incident)
			renewUntil := at.Add(e.pageTimeout)
			if prev != nil {
				renewUntil = at // renewed once it fires, not while it waits
			}
			// A fire that began records what it sent, even when shutdown
			// starts meanwhile; it then sends no page that has not
			// started (hold.quit).
			h := e.claims.hold(t, at.Add(e.lease), renewUntil)
			h.quit = ctx
			go func() {
				defer e.claims.drop(h)
				if prev != nil && !e.follow(prev, h) {
					return
				}
				defer e.Wake(t.Group) // its timer may be due again at once
				h.extend(e.now().Add(e.pageTimeout))
				if _, _, ok := klaxon.ParseHeartbeatTimer(t.Incident); ok {
					h.releasing(true) // its one commit gives the claim up
					if err := e.missed(context.WithoutCancel(ctx), t); err != nil {
						e.log.Error("heartbeat", "timer", t.Incident, "err", err)
						e.shared.StoreError(telemetry.StoreEngine, err)
					}
					return
				}
				if err := e.fire(context.WithoutCancel(ctx), h); err != nil {
					e.log.Error("escalate", "incident", t.Incident, "err", err)
					e.shared.StoreError(telemetry.StoreEngine, err)
				}
			}()
		}
		if len(due) < room || ctx.Err() != nil {
			return next, claimed, nil
		}
	}
}

// missed hands a heartbeat's deadline to Options.Heartbeat, or lets it
// go when there is none.
func (e *Engine) missed(ctx context.Context, t klaxon.Timer) error {
	ctx, cancel := context.WithTimeout(ctx, recordTimeout)
	defer cancel()
	if e.heartbeat != nil {
		return e.heartbeat(ctx, t)
	}
	return klaxon.Update(ctx, e.store, t.Group, nil, func(klaxon.Group) (*klaxon.Commit, error) {
		return &klaxon.Commit{Cancel: []string{t.Incident}, Claim: t.Claim, Urgent: true}, nil
	})
}

// PageText is the one-line text of a page about inc.
func PageText(inc *klaxon.Incident) string {
	sev := ""
	if inc.Severity != "" {
		sev = "[" + inc.Severity + "] "
	}
	return fmt.Sprintf("#%s %s%s (%d firing)", inc.ID, sev, inc.Summary, inc.FiringCount)
}

func openID(g klaxon.Group) string {
	if g.Open == nil {
		return ""
	}
	return g.Open.ID
}
