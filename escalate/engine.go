package escalate

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/incident"
)

// Notifier delivers a page to a person.
type Notifier interface {
	Notify(ctx context.Context, p klaxon.Page) error
}

// Directory tells the engine who a target is.
type Directory interface {
	User(id string) (klaxon.User, bool)
	// OnCall returns the IDs of the users on call in schedule at t.
	OnCall(ctx context.Context, schedule string, t time.Time) ([]string, error)
}

// Options tune the engine; zero values take the defaults.
type Options struct {
	// Lease is how long a claimed timer belongs to this engine before
	// another may claim it (default 15s). It bounds how late a step pages
	// when the engine that claimed it crashes.
	Lease time.Duration
	// Poll is the longest the engine sleeps before it looks for due timers
	// that another replica set (default 1s).
	Poll time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Metrics is where the engine registers its metrics; nil for none.
	Metrics prometheus.Registerer
}

// metrics are what the engine counts.
type metrics struct {
	pages     *prometheus.CounterVec
	firstPage prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		pages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "klaxon_pages_total",
			Help: "Pages handed to a channel, by channel and result (sent, failed, deferred, bundled).",
		}, []string{"channel", "result"}),
		firstPage: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "klaxon_first_page_seconds",
			Help:    "From an incident opening to its first page going out.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}),
	}
	if reg != nil {
		reg.MustRegister(m.pages, m.firstPage)
	}
	return m
}

// Engine claims due timers and walks each incident's policy: it pages,
// escalates and records what it sent on the timeline.
type Engine struct {
	store    klaxon.Store
	notifier Notifier
	dir      func() Directory
	log      *slog.Logger
	lease    time.Duration
	poll     time.Duration
	now      func() time.Time
	wake     chan struct{}
	metrics  *metrics
}

// recordTimeout bounds recording the pages that went out.
const recordTimeout = 30 * time.Second

// claimBatch is how many timers one Claim takes.
const claimBatch = 64

// New returns an engine. dir is called for each escalation, so a reloaded
// directory takes effect for the next step.
func New(store klaxon.Store, notifier Notifier, dir func() Directory, log *slog.Logger, o Options) *Engine {
	e := &Engine{store: store, notifier: notifier, dir: dir, log: log.With("component", "escalate"),
		lease: o.Lease, poll: o.Poll, now: o.Now, wake: make(chan struct{}, 1), metrics: newMetrics(o.Metrics)}
	if e.lease <= 0 {
		e.lease = 15 * time.Second
	}
	if e.poll <= 0 {
		e.poll = time.Second
	}
	if e.now == nil {
		e.now = time.Now
	}
	return e
}

// Wake tells the engine that a timer may be due now. It never blocks.
func (e *Engine) Wake() {
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// Run claims and fires due timers until ctx ends. Timers that fell due
// while no engine ran fire at once.
func (e *Engine) Run(ctx context.Context) error {
	for {
		next, err := e.tick(ctx)
		if err != nil && ctx.Err() == nil {
			e.log.Error("claim due timers", "err", err)
		}
		wait := e.poll
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

// tick fires every timer due now and returns when the next one is.
func (e *Engine) tick(ctx context.Context) (time.Time, error) {
	for {
		due, next, err := e.store.Claim(ctx, e.now(), e.lease, claimBatch)
		if err != nil {
			return time.Time{}, err
		}
		for _, t := range due {
			// A fire that began finishes and records what it sent, even
			// when shutdown starts meanwhile.
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), e.lease)
			if err := e.fire(fctx, t); err != nil {
				e.log.Error("escalate", "incident", t.Incident, "err", err)
			}
			cancel()
		}
		if len(due) < claimBatch || ctx.Err() != nil {
			return next, nil
		}
	}
}

// fire advances one incident whose timer is due. It commits the pages it
// decides before sending them, and marks them sent after: a crash in
// between sends a page again once the lease ends, and never loses one.
func (e *Engine) fire(ctx context.Context, t klaxon.Timer) error {
	var inc *klaxon.Incident
	err := klaxon.Update(ctx, e.store, t.Group, func(g klaxon.Group) (*klaxon.Commit, error) {
		inc = nil
		if g.Open == nil || g.Open.ID != t.Incident {
			// Closed since the timer was set: nothing left to do.
			return &klaxon.Commit{Open: openID(g), Cancel: []string{t.Incident}, Claim: t.Claim}, nil
		}
		inc = incident.Clone(g.Open)
		now := e.now()
		changed := Advance(inc, now, func(s klaxon.Step) []klaxon.User { return e.users(ctx, inc, s) })
		c := &klaxon.Commit{Open: inc.ID, Claim: t.Claim}
		if changed {
			c.Incidents = []*klaxon.Incident{inc}
		}
		if len(Due(inc, now)) > 0 {
			// Keep the claim until the pages are sent and marked.
			if !changed {
				return nil, nil
			}
			return c, nil
		}
		timerCommit(c, inc)
		return c, nil
	})
	if err != nil || inc == nil {
		return err
	}
	due := Due(inc, e.now())
	if len(due) == 0 {
		return nil
	}
	events, deferred := e.send(ctx, inc, due)
	// What went out is recorded even when sending outlasted the lease: a
	// page another engine repeats then shows twice on the timeline, as it
	// reached the person twice.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
	defer cancel()
	return klaxon.Update(ctx, e.store, t.Group, func(g klaxon.Group) (*klaxon.Commit, error) {
		if g.Open == nil || g.Open.ID != inc.ID {
			// Resolved while the pages went out: record them on the
			// resolved incident for the review.
			done, err := e.store.Incident(ctx, inc.ID)
			if err != nil {
				return nil, err
			}
			done.Timeline = append(done.Timeline, events...)
			return &klaxon.Commit{Open: openID(g), Incidents: []*klaxon.Incident{done}, Cancel: []string{inc.ID}, Claim: t.Claim}, nil
		}
		cur := incident.Clone(g.Open)
		cur.Pending = removeSent(cur.Pending, due, deferred)
		cur.Timeline = append(cur.Timeline, events...)
		for _, ev := range events {
			if ev.Kind == klaxon.EventPageFailed {
				NextRuleNow(cur, ev.User, e.now())
			}
		}
		c := &klaxon.Commit{Open: cur.ID, Incidents: []*klaxon.Incident{cur}, Claim: t.Claim}
		timerCommit(c, cur)
		return c, nil
	})
}

// send delivers each due notification. It returns the timeline events
// that record what went out or failed, and the notifications a channel
// deferred, with when they are due again.
func (e *Engine) send(ctx context.Context, inc *klaxon.Incident, due []klaxon.Notification) ([]klaxon.Event, map[int]time.Time) {
	dir := e.dir()
	events := make([]klaxon.Event, 0, len(due))
	deferred := map[int]time.Time{}
	for _, n := range due {
		step := n.Step
		ev := klaxon.Event{At: e.now(), Kind: klaxon.EventPageSent, Step: &step, Notification: n.ID, User: n.User, Via: n.Via}
		u, ok := dir.User(n.User)
		if !ok {
			ev.Kind, ev.Text = klaxon.EventPageFailed, "unknown user "+n.User
			events = append(events, ev)
			continue
		}
		p := klaxon.Page{Incident: inc.ID, Notification: n.ID, User: u, Via: n.Via, Summary: inc.Summary,
			Severity: inc.Severity, Alerts: inc.Firing(), Text: PageText(inc)}
		err := e.notifier.Notify(ctx, p)
		var later *klaxon.DeferredError
		result := "sent"
		switch {
		case errors.As(err, &later):
			deferred[n.ID] = later.Until
			e.metrics.pages.WithLabelValues(n.Via, "deferred").Inc()
			continue
		case errors.Is(err, klaxon.ErrBundled):
			ev.Text, result = "in a bundle with other incidents", "bundled"
		case err != nil:
			ev.Kind, ev.Text, result = klaxon.EventPageFailed, err.Error(), "failed"
			e.log.Warn("page", "incident", inc.ID, "user", n.User, "channel", n.Via, "err", err)
		}
		ev.At = e.now()
		e.metrics.pages.WithLabelValues(n.Via, result).Inc()
		if result == "sent" && !paged(inc, events) {
			e.metrics.firstPage.Observe(ev.At.Sub(inc.CreatedAt).Seconds())
		}
		events = append(events, ev)
	}
	return events, deferred
}

// paged reports whether inc already sent a page, before or among events.
func paged(inc *klaxon.Incident, events []klaxon.Event) bool {
	for _, list := range [][]klaxon.Event{inc.Timeline, events} {
		for _, ev := range list {
			if ev.Kind == klaxon.EventPageSent {
				return true
			}
		}
	}
	return false
}

// users resolves a step's targets to users, each once, in target order.
func (e *Engine) users(ctx context.Context, inc *klaxon.Incident, s klaxon.Step) []klaxon.User {
	dir := e.dir()
	seen := map[string]bool{}
	var out []klaxon.User
	add := func(id string) {
		if seen[id] {
			return
		}
		seen[id] = true
		u, ok := dir.User(id)
		if !ok {
			e.log.Warn("page unknown user", "incident", inc.ID, "user", id)
			return
		}
		out = append(out, u)
	}
	for _, t := range s.Targets {
		switch t.Kind {
		case klaxon.TargetUser:
			add(t.Name)
		case klaxon.TargetSchedule:
			ids, err := dir.OnCall(ctx, t.Name, e.now())
			if err != nil {
				e.log.Error("resolve on-call", "incident", inc.ID, "schedule", t.Name, "err", err)
				continue
			}
			for _, id := range ids {
				add(id)
			}
		}
	}
	return out
}

// PageText is the one-line text of a page about inc.
func PageText(inc *klaxon.Incident) string {
	sev := ""
	if inc.Severity != "" {
		sev = "[" + inc.Severity + "] "
	}
	return fmt.Sprintf("#%s %s%s (%d firing)", inc.ID, sev, inc.Summary, inc.Firing())
}

// removeSent drops the notifications of due from pending, but for those
// deferred, which become due again when the channel allows.
func removeSent(pending, due []klaxon.Notification, deferred map[int]time.Time) []klaxon.Notification {
	out := pending[:0]
	for _, p := range pending {
		if until, ok := deferred[p.ID]; ok {
			p.Due = until
			out = append(out, p)
			continue
		}
		if !slices.ContainsFunc(due, func(d klaxon.Notification) bool { return d.ID == p.ID }) {
			out = append(out, p)
		}
	}
	return out
}

func openID(g klaxon.Group) string {
	if g.Open == nil {
		return ""
	}
	return g.Open.ID
}

// Delivery records what the provider reported of notification n of
// incident id: reached the person (ok), or not (failed, undelivered,
// busy, no answer, an answering machine). When not, the person's next
// contact method is tried at once. A report already recorded changes
// nothing, so providers may repeat theirs.
func (e *Engine) Delivery(ctx context.Context, id string, n int, ok bool, detail string) error {
	kind := klaxon.EventPageDelivered
	if !ok {
		kind = klaxon.EventPageFailed
	}
	retry := false
	_, err := e.command(ctx, id, func(inc *klaxon.Incident, now time.Time) (bool, error) {
		var sent *klaxon.Event
		for i := range inc.Timeline {
			ev := &inc.Timeline[i]
			if ev.Notification != n {
				continue
			}
			switch ev.Kind {
			case klaxon.EventPageSent:
				sent = ev
			case kind:
				return false, nil // already recorded
			}
		}
		if sent == nil {
			// The report may beat the commit that records the page as
			// sent: the page is still in the outbox then.
			for _, p := range inc.Pending {
				if p.ID == n {
					step := p.Step
					sent = &klaxon.Event{Step: &step, User: p.User, Via: p.Via}
				}
			}
		}
		if sent == nil {
			return false, fmt.Errorf("notification %d: %w", n, klaxon.ErrNotFound)
		}
		inc.Record(klaxon.Event{At: now, Kind: kind, Step: sent.Step, Notification: n, User: sent.User, Via: sent.Via, Text: detail})
		if !ok && inc.State == klaxon.StateTriggered {
			retry = NextRuleNow(inc, sent.User, now)
		}
		return true, nil
	})
	if retry {
		e.Wake()
	}
	return err
}

// Acknowledge acknowledges incident id for by, who acted through how.
func (e *Engine) Acknowledge(ctx context.Context, id, by, how string) (*klaxon.Incident, error) {
	return e.command(ctx, id, func(inc *klaxon.Incident, now time.Time) (bool, error) {
		return Acknowledge(inc, now, by, how)
	})
}

// Resolve resolves incident id by hand.
func (e *Engine) Resolve(ctx context.Context, id, by, how string) (*klaxon.Incident, error) {
	return e.command(ctx, id, func(inc *klaxon.Incident, now time.Time) (bool, error) {
		return Resolve(inc, now, by, how), nil
	})
}

// Escalate pages the next step of incident id now.
func (e *Engine) Escalate(ctx context.Context, id, by, how string) (*klaxon.Incident, error) {
	inc, err := e.command(ctx, id, func(inc *klaxon.Incident, now time.Time) (bool, error) {
		users := func(s klaxon.Step) []klaxon.User { return e.users(ctx, inc, s) }
		return true, Escalate(inc, now, users, by, how)
	})
	if err == nil {
		e.Wake() // its pages are due now
	}
	return inc, err
}

// Snooze silences incident id for d, then it triggers again.
func (e *Engine) Snooze(ctx context.Context, id string, d time.Duration, by, how string) (*klaxon.Incident, error) {
	return e.command(ctx, id, func(inc *klaxon.Incident, now time.Time) (bool, error) {
		return true, Snooze(inc, now, d, by, how)
	})
}

// command applies fn to incident id and commits it with its timer and,
// when it resolves the incident, the group's index.
func (e *Engine) command(ctx context.Context, id string, fn func(*klaxon.Incident, time.Time) (bool, error)) (*klaxon.Incident, error) {
	stored, err := e.store.Incident(ctx, id)
	if err != nil {
		return nil, err
	}
	out := stored
	err = klaxon.Update(ctx, e.store, stored.Group, func(g klaxon.Group) (*klaxon.Commit, error) {
		if g.Open == nil || g.Open.ID != id {
			// Closed: only its timeline may still grow, for the review.
			cur, err := e.store.Incident(ctx, id)
			if err != nil {
				return nil, err
			}
			out = incident.Clone(cur)
			changed, err := fn(out, e.now())
			if err != nil || !changed {
				out = cur
				return nil, err
			}
			return &klaxon.Commit{Open: openID(g), Incidents: []*klaxon.Incident{out}}, nil
		}
		inc := incident.Clone(g.Open)
		changed, err := fn(inc, e.now())
		out = inc
		if err != nil || !changed {
			return nil, err
		}
		c := &klaxon.Commit{Open: inc.ID, Incidents: []*klaxon.Incident{inc}}
		if inc.State == klaxon.StateResolved {
			c.Open = ""
			for _, a := range inc.Alerts {
				c.Unindex = append(c.Unindex, a.Key)
			}
		}
		timerCommit(c, inc)
		return c, nil
	})
	if err != nil {
		return nil, fmt.Errorf("incident %s: %w", id, err)
	}
	return out, nil
}
