package ingest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/telemetry"
)

// A store that is a klaxon.CommitQueue takes a group's next commit while
// the one before is still being made durable (the embedded store, whose
// fsync is most of a commit's time). The pipeline then chains a hot
// group's commits: the deliveries that came while one commit is in
// flight are folded on the group as that commit leaves it, and queued
// behind it; the store applies the second only if the first applied.
// One commit waits for its fsync while the next is on its way, instead
// of the next waiting for it.

// flight is a commit queued and not yet landed.
type flight struct {
	ds     []*delivery
	queued klaxon.Queued
	f      folded
	// chained says the group's open incident is the one the commit was
	// computed on, so the next commit can be folded on f.next.
	chained bool
	// complete says f.next.Alerts holds every alert of f.next's open
	// incident: the chain opened it, and folded every alert it holds. A
	// commit chained on it needs no read of the alerts it does not hold:
	// the incident has none of them.
	complete bool
	// refolds counts how often the deliveries were folded again after a
	// commit of theirs lost a race.
	refolds int
	// span is the commit's, ended when it lands; started is when the
	// commit began.
	span    trace.Span
	started time.Time
}

// chainLoop is commitLoop for a CommitQueue. While commits are in
// flight, the deliveries that come are folded on the group as the last
// of them leaves it and queued behind it at once, up to maxChain deep:
// the store's writer takes all that queued meanwhile into its next batch,
// so a delivery waits for the fsync in flight and its own, not for one
// commit more per commit ahead of it. Once mine is answered, a goroutine
// of its own goes on with what is left.
func (p *Pipeline) chainLoop(ctx context.Context, q klaxon.CommitQueue, key string, wake <-chan struct{}, flights []*flight, ds []*delivery, mine *delivery) {
	for {
		if mine != nil && answered(mine) {
			if len(flights) == 0 && len(ds) == 0 {
				if ds = p.take(key, true, 0); len(ds) == 0 {
					return
				}
			}
			go p.chainLoop(ctx, q, key, wake, flights, ds, nil)
			return
		}
		flights = dropLanded(flights)
		if len(flights) == 0 {
			if len(ds) == 0 {
				if ds = p.take(key, true, 0); len(ds) == 0 {
					return
				}
			}
			if f := p.start(ctx, q, key, ds); f != nil {
				flights = append(flights, f)
			}
			ds = nil
			continue
		}
		ds = append(ds, p.take(key, false, 0)...)
		if len(ds) > 0 {
			if last := flights[len(flights)-1]; last.chained && len(flights) < maxChain {
				if next := p.chain(ctx, q, key, last, ds); next != nil {
					flights, ds = append(flights, next), nil
					continue
				}
			}
			// To go once the flights landed.
			flights = p.land(ctx, q, flights)
			continue
		}
		select {
		case <-flights[0].queued.Done():
			flights = p.land(ctx, q, flights)
		case <-wake:
		}
	}
}

// dropLanded drops the flights ahead that landed: their senders were
// answered once their commits were durable.
func dropLanded(flights []*flight) []*flight {
	for len(flights) > 0 {
		select {
		case <-flights[0].queued.Done():
			if flights[0].queued.Wait() != nil {
				return flights // for land
			}
			flights = flights[1:]
		default:
			return flights
		}
	}
	return flights
}

// maxChain bounds the commits of one group in flight at once. Single
// events into one group, from 64 connections, keep more than four of its
// commits on their way: with four, the deliveries that came meanwhile
// waited unfolded for the first to land, and missed the writer's next
// batch. 64 did no better than 16 in rounds against it.
const maxChain = 16

// take returns the deliveries waiting for group key: all of them, or,
// with limit > 0, the first ones up to limit alerts (at least one
// delivery), the rest waiting for the next take. With last, when none
// waits, the group has no committer any more.
func (p *Pipeline) take(key string, last bool, limit int) []*delivery {
	p.mu.Lock()
	defer p.mu.Unlock()
	q := p.groups[key]
	if len(q.waiting) == 0 && last {
		delete(p.groups, key)
		return nil
	}
	ds := q.waiting
	n := len(ds)
	if limit > 0 {
		alerts := len(ds[0].alerts)
		for n = 1; n < len(ds) && alerts+len(ds[n].alerts) <= limit; n++ {
			alerts += len(ds[n].alerts)
		}
	}
	q.waiting = ds[n:]
	if len(q.waiting) == 0 {
		q.waiting = nil
	}
	return ds[:n:n]
}

// start folds ds on the group as stored and queues the commit; nil when
// ds were answered already (nothing to write, or an error).
func (p *Pipeline) start(ctx context.Context, q klaxon.CommitQueue, key string, ds []*delivery) *flight {
	cctx, cancel := context.WithTimeout(ctx, commitTimeout)
	defer cancel()
	tmpl, keys := batch(ds)
	cctx, span := p.commitSpan(cctx, ds, len(keys))
	started := time.Now()
	fail := func(err error) *flight {
		p.metrics.failed(err)
		err = commitError(err)
		telemetry.End(span, err)
		answer(ds, false, err, nil)
		return nil
	}
	g, err := p.store.Group(cctx, key, keys)
	if err != nil {
		return fail(err)
	}
	open := g.Open
	var ids []string
	f, err := p.fold(cctx, g, tmpl, ds, &ids)
	if err == nil && f.c == nil {
		p.landed(cctx, f, time.Since(started)) // nothing to write: repeats
	}
	if err != nil || f.c == nil {
		return fail(err)
	}
	f.c.Group, f.c.Version, f.c.Token = key, g.Version, g.Token
	fresh := opened(f, ids)
	fl := &flight{ds: ds, f: f, chained: fresh || sameOpen(open, f.next.Open), complete: fresh, span: span, started: started}
	if fl.queued, err = q.Queue(cctx, *f.c, nil, p.durable(ctx, fl)); err != nil {
		return fail(err)
	}
	return fl
}

// durable answers fl's senders once its commit is durable, on the store's
// goroutine (see klaxon.CommitQueue): they need not wait for the chain
// to land it.
func (p *Pipeline) durable(ctx context.Context, fl *flight) func() {
	return func() {
		p.landed(trace.ContextWithSpan(ctx, fl.span), fl.f, time.Since(fl.started))
		telemetry.End(fl.span, nil)
		answer(fl.ds, fl.f.opened, nil, movesOf(fl.f.c))
	}
}

// opened says that the fold that made f, which allocated incident IDs
// ids, opened the group's open incident after f.
func opened(f folded, ids []string) bool {
	return f.next.Open != nil && slices.Contains(ids, f.next.Open.ID)
}

// chain folds ds on the group as cur leaves it and queues the commit
// behind cur's; nil when it cannot tell the group's state after cur (the
// alerts of ds that cur did not fold are read, and the store's open
// incident must be cur's). The fold works on cur's view of the group's
// alerts, which becomes the new commit's: when it fails after it began,
// nothing chains on cur any more, and what comes next is folded on the
// group as stored once the commits in flight landed.
func (p *Pipeline) chain(ctx context.Context, q klaxon.CommitQueue, key string, cur *flight, ds []*delivery) *flight {
	cctx, cancel := context.WithTimeout(ctx, commitTimeout)
	defer cancel()
	tmpl, keys := batch(ds)
	g := cur.f.next
	var missing []string
	for _, k := range keys {
		if _, ok := g.Alerts[k]; !ok {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 && !cur.complete {
		// cur wrote none of them: what the store holds of them now is what
		// it will hold after cur. Should anything else land first, the
		// store refuses both commits. The read does not wait for cur to
		// be durable: next is on its way while cur's fsync runs.
		open, stored, err := q.AlertsAfter(cctx, key, missing, cur.queued)
		if err != nil || g.Open == nil || open != g.Open.ID {
			return nil
		}
		for k, s := range stored {
			g.Alerts[k] = s
		}
	}
	var ids []string
	cctx, span := p.commitSpan(cctx, ds, len(keys))
	started := time.Now()
	f, err := p.fold(cctx, g, tmpl, ds, &ids)
	if err != nil || f.c == nil {
		span.End()
		if err != nil {
			// The fold may have changed g.Alerts, which is cur's: what it
			// holds now is of no commit, and nothing more chains on it.
			cur.chained = false
		}
		return nil // after cur, the plain way
	}
	f.c.Group, f.c.Version = key, g.Version
	same, fresh := sameOpen(g.Open, f.next.Open), opened(f, ids)
	fl := &flight{ds: ds, f: f, chained: same || fresh, complete: same && cur.complete || fresh, span: span, started: started}
	if fl.queued, err = q.Queue(cctx, *f.c, cur.queued, p.durable(ctx, fl)); err != nil {
		span.End()
		cur.chained = false // as above: g.Alerts holds what was not queued
		return nil
	}
	return fl
}

// land waits for the first of flights and returns the others, still in
// flight. Its senders were answered once it was durable (durable); if
// it failed, land answers them. A commit refused for a race is folded
// again on the stored group, with the deliveries of the others, and
// queued: the store refuses each of the others, as each follows it, so
// nothing else is left in flight. After maxRefolds races lost in a row,
// the deliveries go the plain way, which gives up after as many more.
func (p *Pipeline) land(ctx context.Context, q klaxon.CommitQueue, flights []*flight) []*flight {
	cur := flights[0]
	err := cur.queued.Wait()
	if err == nil {
		return flights[1:] // answered once durable
	}
	p.metrics.failed(err)
	if !errors.Is(err, klaxon.ErrConflict) {
		err = commitError(err)
		telemetry.End(cur.span, err)
		answer(cur.ds, cur.f.opened, err, nil)
		return flights[1:]
	}
	telemetry.End(cur.span, err)
	ds := cur.ds
	for _, next := range flights[1:] {
		telemetry.End(next.span, errFollowsRefused)
		ds = append(ds, next.ds...)
	}
	if cur.refolds < maxRefolds {
		if f := p.start(ctx, q, cur.f.c.Group, ds); f != nil {
			f.refolds = cur.refolds + 1
			return []*flight{f}
		}
		return nil // answered
	}
	cctx, cancel := context.WithTimeout(ctx, commitTimeout)
	defer cancel()
	opened, moves, err := p.commit(cctx, ds)
	answer(ds, opened, err, moves)
	return nil
}

// maxRefolds bounds how often a chain folds deliveries again after a
// race lost, before it commits them the plain way.
const maxRefolds = 4

// errFollowsRefused ends the span of a commit queued behind one the
// store refused: the store refuses it too, unread.
var errFollowsRefused = fmt.Errorf("it follows a commit refused: %w", klaxon.ErrConflict)

func sameOpen(a, b *klaxon.Incident) bool {
	return a != nil && b != nil && a.ID == b.ID
}
