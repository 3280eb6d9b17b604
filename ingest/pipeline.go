package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/incident"
	"github.com/klaxonhq/klaxon/telemetry"
)

// Router decides, from an alert's labels, the group the alert joins and
// what a new incident of that group starts with. Group is Route's
// Template.Group alone, which is all that the second and later alerts of
// a group in one body need.
type Router interface {
	Group(a *klaxon.Alert) (string, error)
	Route(a *klaxon.Alert) (incident.Template, error)
	// Labels are the labels the integration called name adds to its
	// alerts (see klaxon.Alert.Label).
	Labels(integration string) map[string]string
}

// Pipeline commits normalised alerts: it routes them into groups, folds
// them into each group's incident with incident.Apply, and commits each
// group atomically.
//
// Deliveries to one group that arrive while a commit of that group is in
// flight wait for it, then go together: one Apply and one commit for all
// of them, so that concurrent senders to a hot group never race each
// other's compare-and-set. Each sender is answered once its alerts are
// committed. Replicas still meet at the store's compare-and-set.
type Pipeline struct {
	store   klaxon.Store
	router  func() Router
	wake    func(groups ...string)
	now     func() time.Time
	tracer  trace.Tracer // nil: no spans, at no cost
	metrics *metrics
	// committed, when set, takes the incidents of each commit that
	// landed.
	committed func([]*klaxon.Incident)
	// unsure, when set, takes the incidents that a commit which failed
	// and may have landed resolved (see WithUnsure).
	unsure func([]*klaxon.Incident)
	// hold says whether a maintenance window holds a new incident's
	// first page, and until when; nil holds nothing.
	hold Hold
	// barrier, when set, is the store's (see klaxon.ReplicaWaiter):
	// taken only when it waits for replicas, off the hot path else.
	barrier func(ctx context.Context, groups []string) (wait func(context.Context) error)
	log     *slog.Logger

	mu     sync.Mutex
	groups map[string]*queue // the groups with a commit in flight
}

// queue is what waits for a group's commit in flight; wake tells its
// committer that more came.
type queue struct {
	waiting []*delivery
	wake    chan struct{}
}

// delivery is the alerts of one request that fall into one group.
type delivery struct {
	tmpl   incident.Template
	alerts []klaxon.Alert
	done   chan outcome // buffered: the committer never waits
	// span is the sender's span: the commit that takes the delivery
	// links to it.
	span trace.SpanContext
}

type outcome struct {
	opened bool
	err    error
	// moved are the delivery's alerts that the commit took from another
	// group: the sender resolves them there (see move).
	moved []moved
}

// maxFold bounds the alerts that one commit folds on a store that is not
// a klaxon.CommitQueue (Redis): such a commit is one script that holds
// every other command of its server while it runs, the escalation
// engine's among them. At about 3 µs an alert in the script, 500 alerts
// keep it near 1.5 ms, where a storm's folds reached 12 ms.
const maxFold = 500

// commitTimeout bounds a commit made for several senders, which no single
// sender's cancellation may stop.
const commitTimeout = 30 * time.Second

// NewPipeline returns a pipeline. router is called once per delivery, so
// a reloaded route tree applies from the next delivery on; wake is called
// with the groups of the incidents that opened, whose first page is due.
func NewPipeline(store klaxon.Store, router func() Router, wake func(groups ...string), now func() time.Time, opts ...Option) *Pipeline {
	if now == nil {
		now = time.Now
	}
	p := &Pipeline{store: store, router: router, wake: wake, now: now, metrics: newMetrics(nil, nil), log: slog.New(slog.DiscardHandler), groups: map[string]*queue{}}
	if r, ok := store.(klaxon.ReplicaWaiter); ok && r.WaitsForReplicas() {
		p.barrier = r.Barrier
	}
	for _, o := range opts {
		o(p)
	}
	return p
}

// Option configures a Pipeline.
type Option func(*Pipeline)

// WithMetrics registers the pipeline's metrics with reg, and counts the
// incidents it opens and resolves, and the store's failures, in shared.
func WithMetrics(reg prometheus.Registerer, shared *telemetry.Metrics) Option {
	return func(p *Pipeline) { p.metrics = newMetrics(reg, shared) }
}

// WithLogger logs with log what goes wrong after the senders' alerts
// are committed, which is not theirs to retry.
func WithLogger(log *slog.Logger) Option {
	return func(p *Pipeline) { p.log = log }
}

// WithCommitted hands fn the incidents each commit wrote, with the
// events it recorded, once it landed: for status updates and chat.
func WithCommitted(fn func([]*klaxon.Incident)) Option {
	return func(p *Pipeline) { p.committed = fn }
}

// WithUnsure hands fn the incidents that a commit resolved when it
// failed in a way that may have landed all the same (a reply lost on
// its way back from Redis): the sender's retry finds them resolved and
// commits nothing, so a chat message that shows one would show it
// open until read again. Only a resolve: an incident that opens pages,
// and the walk's commits bring its message, and a count of alerts
// catches up at its next change.
func WithUnsure(fn func([]*klaxon.Incident)) Option {
	return func(p *Pipeline) { p.unsure = fn }
}

// unsureOf hands unsure the incidents that c, which failed with err,
// resolved, unless err says it did not land: a version moved, or the
// open incident went.
func (p *Pipeline) unsureOf(c *klaxon.Commit, err error) {
	if p.unsure == nil || c == nil || errors.Is(err, klaxon.ErrConflict) || errors.Is(err, klaxon.ErrNotFound) ||
		errors.Is(err, klaxon.ErrInvalid) {
		return
	}
	var resolved []*klaxon.Incident
	for _, inc := range c.Incidents {
		if inc.State == klaxon.StateResolved {
			resolved = append(resolved, inc)
		}
	}
	if len(resolved) > 0 {
		p.unsure(resolved)
	}
}

// landed counts a commit f that landed after took, and hands on its
// incidents.
func (p *Pipeline) landed(ctx context.Context, f folded, took time.Duration) {
	p.metrics.committed(ctx, f, took)
	if span := trace.SpanFromContext(ctx); span.IsRecording() && f.incident != "" {
		// The commit's span names the incident its alerts went to, as
		// the pages' spans do: a search by incident finds the requests.
		span.SetAttributes(attribute.String("klaxon.incident", f.incident))
	}
	if p.committed != nil && f.c != nil {
		p.committed(f.c.Incidents)
	}
}

// WithTracing makes the pipeline's spans with tp: one for a delivery's
// routing, and one for each commit, linked to the deliveries it takes.
func WithTracing(tp trace.TracerProvider) Option {
	return func(p *Pipeline) { p.tracer = tp.Tracer("github.com/klaxonhq/klaxon/ingest") }
}

// Accept commits alerts. When it returns nil every alert is durable in the
// store; otherwise the sender must retry, and a retry is harmless. The
// groups of one body commit concurrently.
func (p *Pipeline) Accept(ctx context.Context, alerts []klaxon.Alert) (err error) {
	ctx, span := p.span(ctx, "ingest.accept")
	defer func() { telemetry.End(span, err) }()
	batches, err := p.route(ctx, alerts)
	if err != nil {
		return err
	}
	if span.IsRecording() {
		span.SetAttributes(attribute.Int("klaxon.alerts", len(alerts)), attribute.Int("klaxon.groups", len(batches)))
	}
	wait := func(context.Context) error { return nil }
	if p.barrier != nil {
		// Before the commits, or a read that finds them made by an
		// earlier try of the sender's: which masters take them.
		groups := make([]string, len(batches))
		for i, d := range batches {
			groups[i] = d.tmpl.Group
		}
		wait = p.barrier(ctx, groups)
	}
	for i, d := range batches {
		d.span = span.SpanContext()
		p.submit(ctx, d, i == len(batches)-1)
	}
	var opened []string // the groups whose commit opened an incident
	var errs []error
	var moves []moved
	for i, d := range batches {
		select {
		case o := <-d.done:
			if o.opened {
				opened = append(opened, d.tmpl.Group)
			}
			if o.err != nil {
				errs = append(errs, o.err)
			}
			moves = append(moves, o.moved...)
		case <-ctx.Done():
			// The commits go on for the others; this sender retries,
			// and its retry finds its alerts where the commits put
			// them: it neither opens nor moves anything. So what they
			// open is paged, and what they move is resolved where it
			// left, as if it had waited.
			go func() {
				for _, d := range batches[i:] {
					o := <-d.done
					if o.opened {
						opened = append(opened, d.tmpl.Group)
					}
					moves = append(moves, o.moved...)
				}
				p.finish(ctx, opened, moves)
			}()
			return fmt.Errorf("commit alerts: %w", ctx.Err())
		}
	}
	p.finish(ctx, opened, moves)
	if len(errs) > 0 {
		return commitErrors(errs)
	}
	// Committed now, or by an earlier try of the sender's: either way on
	// the replicas before it is answered.
	if err := wait(ctx); err != nil {
		p.metrics.failed(err)
		return err
	}
	return nil
}

// finish wakes the engine for the groups whose commits opened an
// incident that pages now, then resolves the alerts that moved in the
// groups they left.
func (p *Pipeline) finish(ctx context.Context, opened []string, moves []moved) {
	if len(opened) > 0 && p.wake != nil {
		p.wake(opened...)
	}
	if len(moves) > 0 {
		p.move(ctx, moves, false)
	}
}

// commitErrors are the errors of the groups of one delivery whose commits
// failed. The first says why, and a count the rest: a body of a
// thousand groups on a full disk is not answered, nor logged, with a
// thousand copies of one cause. errors.Is and As see them all.
type commitErrors []error

func (e commitErrors) Error() string {
	if len(e) == 1 {
		return e[0].Error()
	}
	return fmt.Sprintf("%v (and %d more groups)", e[0], len(e)-1)
}

func (e commitErrors) Unwrap() []error { return e }

// submit hands d to its group's committer: queued behind the commit in
// flight, or committed by a new committer. With inline, the sender's own
// goroutine is that committer until d is answered, and hands the group
// to a goroutine of its own only if more deliveries came meanwhile: a
// delivery to a quiet group costs no goroutine and no hand-over.
func (p *Pipeline) submit(ctx context.Context, d *delivery, inline bool) {
	key := d.tmpl.Group
	p.mu.Lock()
	if q, busy := p.groups[key]; busy {
		q.waiting = append(q.waiting, d)
		select {
		case q.wake <- struct{}{}:
		default:
		}
		p.mu.Unlock()
		return
	}
	wake := make(chan struct{}, 1)
	p.groups[key] = &queue{wake: wake}
	p.mu.Unlock()
	ctx = context.WithoutCancel(ctx)
	mine := d
	if !inline {
		mine = nil
	}
	loop := func() { p.commitLoop(ctx, key, []*delivery{d}, mine) }
	if q, ok := p.store.(klaxon.CommitQueue); ok {
		loop = func() { p.chainLoop(ctx, q, key, wake, nil, []*delivery{d}, mine) }
	}
	if inline {
		loop()
		return
	}
	go loop()
}

// answered reports whether d's outcome is waiting for its sender, which
// has not taken it yet: its committer is the sender's own goroutine.
func answered(d *delivery) bool { return len(d.done) > 0 }

// commitLoop commits the deliveries to group key, then those that queued
// meanwhile, together, until none is left. Once mine is answered, a
// goroutine of its own goes on.
func (p *Pipeline) commitLoop(ctx context.Context, key string, ds []*delivery, mine *delivery) {
	for {
		cctx, cancel := context.WithTimeout(ctx, commitTimeout)
		opened, moves, err := p.commit(cctx, ds)
		cancel()
		answer(ds, opened, err, moves)
		if ds = p.take(key, true, maxFold); len(ds) == 0 {
			return
		}
		if mine != nil && answered(mine) {
			go p.commitLoop(ctx, key, ds, nil)
			return
		}
	}
}

// Waiting counts the deliveries to group key that wait for its commit in
// flight.
func (p *Pipeline) Waiting(key string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if q, ok := p.groups[key]; ok {
		return len(q.waiting)
	}
	return 0
}

// route is group in a span of its own.
func (p *Pipeline) route(ctx context.Context, alerts []klaxon.Alert) (ds []*delivery, err error) {
	ctx, span := p.span(ctx, "ingest.route")
	defer func() { telemetry.End(span, err) }()
	return p.group(ctx, alerts)
}

// commitSpan starts the span of a commit of ds, of n alerts: in the trace
// of the one delivery it takes, or, taking several, a trace of its own
// linked to theirs.
func (p *Pipeline) commitSpan(ctx context.Context, ds []*delivery, n int) (context.Context, trace.Span) {
	if p.tracer == nil {
		return ctx, noSpan
	}
	opts := []trace.SpanStartOption{trace.WithAttributes(attribute.Int("klaxon.deliveries", len(ds)), attribute.Int("klaxon.alerts", n))}
	if len(ds) == 1 {
		ctx = trace.ContextWithSpanContext(ctx, ds[0].span)
	} else {
		links := make([]trace.Link, 0, len(ds))
		for _, d := range ds {
			if d.span.IsValid() {
				links = append(links, trace.Link{SpanContext: d.span})
			}
		}
		opts = append(opts, trace.WithNewRoot(), trace.WithLinks(links...))
	}
	return p.tracer.Start(ctx, "ingest.commit", opts...)
}

// noSpan is the span of a pipeline without tracing: it records nothing.
var noSpan = trace.SpanFromContext(context.Background())

// span starts a span named name, or returns noSpan without tracing.
func (p *Pipeline) span(ctx context.Context, name string) (context.Context, trace.Span) {
	if p.tracer == nil {
		return ctx, noSpan
	}
	return p.tracer.Start(ctx, name)
}

// group splits alerts into per-group deliveries, in the order their groups
// first appear. A firing alert is routed by its labels; a resolved alert
// goes to the group that indexed it when it fired, or that a firing
// report of it earlier in the body went to, so that it resolves what it
// opened even if its labels or the routes changed since (a resolve that
// states no severity takes the integration's severity label, which a
// firing report that stated one did not).
func (p *Pipeline) group(ctx context.Context, alerts []klaxon.Alert) ([]*delivery, error) {
	var resolved []string
	for _, a := range alerts {
		if a.Status == klaxon.Resolved {
			resolved = append(resolved, a.Key)
		}
	}
	indexed := map[string]string{}
	var fired map[string]string // by key, the group of a firing report of this body
	if len(resolved) > 0 {
		var err error
		if indexed, err = p.store.AlertGroups(ctx, resolved); err != nil {
			return nil, fmt.Errorf("look up resolved alerts: %w", err)
		}
		fired = map[string]string{}
	}
	router := p.router()
	byKey := map[string]*delivery{}
	var out []*delivery
	for i := range alerts {
		a := &alerts[i]
		a.Label(router.Labels(a.Integration))
		group, known := indexed[a.Key]
		if !known && a.Status == klaxon.Resolved {
			group, known = fired[a.Key]
		}
		routed := !known || a.Status != klaxon.Resolved
		if routed {
			var err error
			if group, err = router.Group(a); err != nil {
				return nil, fmt.Errorf("route alert %s: %w", a.Key, err)
			}
			if fired != nil && a.Status == klaxon.Firing {
				fired[a.Key] = group
			}
		}
		d, ok := byKey[group]
		if !ok {
			d = &delivery{tmpl: incident.Template{Group: group}, done: make(chan outcome, 1)}
			if len(out) == 0 { // most bodies are of one group
				d.alerts = make([]klaxon.Alert, 0, len(alerts))
			}
			byKey[group] = d
			out = append(out, d)
		}
		if routed && d.tmpl.Policy.Name == "" {
			// A routed template knows the policy; an indexed one does not.
			tmpl, err := router.Route(a)
			if err != nil {
				return nil, fmt.Errorf("route alert %s: %w", a.Key, err)
			}
			d.tmpl = tmpl
		}
		d.alerts = append(d.alerts, *a)
	}
	return out, nil
}

// batch is what deliveries to one group fold with: the template of the
// incident they would open and the keys of their alerts, in order.
func batch(ds []*delivery) (tmpl incident.Template, keys []string) {
	tmpl = ds[0].tmpl
	seen := map[string]bool{}
	for _, d := range ds {
		if tmpl.Policy.Name == "" {
			tmpl = d.tmpl
		}
		for _, a := range d.alerts {
			if !seen[a.Key] {
				seen[a.Key] = true
				keys = append(keys, a.Key)
			}
		}
	}
	return tmpl, keys
}

// commit folds deliveries to one group, in the order they came, into the
// group's incident in one commit, and reports whether it opened an
// incident that must page. Each delivery is applied as if it had come
// alone: one that resolves the incident ends it, and a firing alert of a
// later one opens a new incident, in the same commit.
func (p *Pipeline) commit(ctx context.Context, ds []*delivery) (opened bool, moves []moved, err error) {
	tmpl, keys := batch(ds)
	ctx, span := p.commitSpan(ctx, ds, len(keys))
	defer func() { telemetry.End(span, err) }()
	var ids []string        // allocated once each, kept across retries
	var taken []klaxon.Move // kept across retries too: see klaxon.Commit.Moved
	var last folded
	var open string
	started := time.Now()
	err = klaxon.Update(ctx, p.store, tmpl.Group, keys, func(g klaxon.Group) (*klaxon.Commit, error) {
		f, err := p.fold(ctx, g, tmpl, ds, &ids)
		if f.c != nil && f.c.Moved != nil {
			f.c.Moved = &taken
		}
		open = ""
		if g.Open != nil {
			open = g.Open.ID
		}
		last = f
		return f.c, err
	})
	if err != nil {
		p.metrics.failed(err)
		p.unsureOf(last.c, err)
		return last.opened, nil, commitError(err)
	}
	p.landed(ctx, last, time.Since(started))
	// An attempt that lost its race may have been told of moves (a
	// cluster's write-ahead) that the attempt that landed, or that found
	// nothing to write (another replica committed the same alerts), was
	// not: they are moves all the same, into the group's open incident.
	to := open
	if last.c != nil {
		to = last.c.Open
	}
	return last.opened, movesTo(taken, to), nil
}

// Firing counts the firing alerts of alerts.
func Firing(alerts []klaxon.Alert) int {
	n := 0
	for i := range alerts {
		if alerts[i].Status == klaxon.Firing {
			n++
		}
	}
	return n
}

// commitError says what a failed commit means to the senders. err names
// the group already: the store's errors do, and fold's.
func commitError(err error) error {
	if errors.Is(err, klaxon.ErrConflict) || errors.Is(err, klaxon.ErrNotFound) {
		// Lost every race, or the open incident went: the sender's retry
		// can succeed, so it is told to retry (503), never a 4xx that
		// would drop the alerts.
		return fmt.Errorf("%v: %w", err, klaxon.ErrUnavailable)
	}
	return err
}
