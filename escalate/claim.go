package escalate

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/telemetry"
)

// claims are the timers the engine claimed and is firing: it renews
// their leases while their pages are in flight, and a page goes out only
// while its incident's claim is held.
type claims struct {
	mu    sync.Mutex
	held  map[*hold]struct{}
	seq   uint64 // numbers the holds in the order they were taken
	limit int
	// parked counts the holds with a page waiting for its channel's
	// slot (hold.waiting): they do not count against limit.
	parked int
	// idle is closed while nothing is held. (A WaitGroup would not do:
	// RunOnce may wait while Run's tick takes a claim.)
	idle chan struct{}
}

// hold is one claimed timer being fired.
type hold struct {
	timer klaxon.Timer
	seq   uint64
	// waiting counts its pages that wait for their channel's slot;
	// guarded by claims.mu.
	waiting int

	mu sync.Mutex
	// renewUntil is when the engine stops renewing the claim: the page
	// timeout of its last page. A fire that hangs longer is left to
	// another replica.
	renewUntil time.Time
	until      time.Time // the lease end, as of the last claim or renewal
	lost       bool      // another claim has the timer now
	// release says the fire's commit on its way gives the claim up:
	// a renewal that finds the claim gone then learns nothing of
	// another replica.
	release bool
	stop    context.CancelFunc
	ctx     context.Context // ends when the claim is lost
	done    chan struct{}   // closed when the fire ended
	// quit ends when the engine stops: the fire then sends no page that
	// has not started, records those that went out and gives its claim
	// up, so that the next start (or another replica) sends the rest at
	// once, and a slow provider does not hold the shutdown up for more
	// than the pages in flight. nil for never.
	quit context.Context
}

// quitting reports whether the engine is stopping (see hold.quit).
func (h *hold) quitting() bool { return h.quit != nil && h.quit.Err() != nil }

// sleep waits d, and reports false if the engine began to stop first.
func (h *hold) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	var quit <-chan struct{} // nil: never
	if h.quit != nil {
		quit = h.quit.Done()
	}
	select {
	case <-t.C:
		return true
	case <-quit:
		return false
	}
}

func newClaims(limit int) *claims {
	idle := make(chan struct{})
	close(idle)
	return &claims{held: map[*hold]struct{}{}, limit: limit, idle: idle}
}

// count is how many timers are being fired.
func (c *claims) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.held)
}

// room is how many more timers the engine may fire at once: the fires
// whose pages wait for their channel do not count (park), as each
// channel bounds how many pages wait for it.
func (c *claims) room() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return max(c.limit-(len(c.held)-c.parked), 0)
}

// park notes that a page of h waits for its channel's slot: h does not
// count against the limit until unpark.
func (c *claims) park(h *hold) {
	c.mu.Lock()
	defer c.mu.Unlock()
	h.waiting++
	if h.waiting == 1 {
		c.parked++
	}
}

// unpark notes that a page of h that waited for its channel's slot has
// one, or gave up.
func (c *claims) unpark(h *hold) {
	c.mu.Lock()
	defer c.mu.Unlock()
	h.waiting--
	if h.waiting == 0 {
		c.parked--
	}
}

// hold registers timer t, leased until until, to be renewed until
// renewUntil.
func (c *claims) hold(t klaxon.Timer, until, renewUntil time.Time) *hold {
	h := &hold{timer: t, until: until, renewUntil: renewUntil, done: make(chan struct{})}
	h.ctx, h.stop = context.WithCancel(context.Background())
	c.mu.Lock()
	c.seq++
	h.seq = c.seq
	if len(c.held) == 0 {
		c.idle = make(chan struct{})
	}
	c.held[h] = struct{}{}
	c.mu.Unlock()
	return h
}

// firing returns the latest fire of incident in flight, or nil.
func (c *claims) firing(incident string) *hold {
	c.mu.Lock()
	defer c.mu.Unlock()
	var last *hold
	for h := range c.held {
		if h.timer.Incident == incident && (last == nil || h.seq > last.seq) {
			last = h
		}
	}
	return last
}

// drop forgets h once its fire ended.
func (c *claims) drop(h *hold) {
	h.stop()
	close(h.done)
	c.mu.Lock()
	delete(c.held, h)
	if len(c.held) == 0 {
		close(c.idle)
	}
	c.mu.Unlock()
}

// wait waits until no fire is in flight.
func (c *claims) wait() {
	for {
		c.mu.Lock()
		idle := c.idle
		c.mu.Unlock()
		select {
		case <-idle:
		default:
			<-idle
			continue // a fire may have begun since
		}
		return
	}
}

// due lists the holds to renew at now.
func (c *claims) due(now time.Time) []*hold {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []*hold
	for h := range c.held {
		h.mu.Lock()
		if !h.lost && now.Before(h.renewUntil) {
			out = append(out, h)
		}
		h.mu.Unlock()
	}
	return out
}

// expire gives up the claims that are no longer held at now with margin
// to spare.
func (c *claims) expire(now time.Time, margin time.Duration) {
	c.mu.Lock()
	var gone []*hold
	for h := range c.held {
		if !h.held(now, margin) {
			gone = append(gone, h)
		}
	}
	c.mu.Unlock()
	for _, h := range gone {
		h.lose()
	}
}

// held reports whether the claim is still held at now, with margin to
// spare: a page that starts then is sent under the claim.
func (h *hold) held(now time.Time, margin time.Duration) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return !h.lost && now.Add(margin).Before(h.until)
}

// extend renews the claim until at least until: a page that starts gets
// its page timeout.
func (h *hold) extend(until time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if until.After(h.renewUntil) {
		h.renewUntil = until
	}
}

// renewed records a renewal that began at at.
func (h *hold) renewed(until time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if until.After(h.until) {
		h.until = until
	}
}

// releasing records whether the fire's commit on its way gives the
// claim up.
func (h *hold) releasing(r bool) {
	h.mu.Lock()
	h.release = r
	h.mu.Unlock()
}

// released reports whether the fire's last commit gives the claim up.
func (h *hold) released() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.release
}

// lose marks the claim as taken by another: its pages not yet sent stay
// for the new holder, and those waiting for a channel give up.
func (h *hold) lose() {
	h.mu.Lock()
	h.lost = true
	h.mu.Unlock()
	h.stop()
}

// margin is how long before its lease ends a claim counts as lost to the
// engine: a page starts only with that much of the lease left, which
// covers the clocks of replicas that differ a little, and the renewals
// that run every half margin see it before the lease ends.
func (e *Engine) margin() time.Duration { return e.lease / 3 }

// mayStart reports whether a page may start under h now: the claim is
// held with the margin to spare, and the engine is not stopping.
func (e *Engine) mayStart(h *hold) bool { return h.held(e.now(), e.margin()) && !h.quitting() }

// renew renews the claims in flight every sixth of a lease until ctx
// ends. A claim that another holds now is marked lost; when the store
// cannot be reached, claims are not extended, and each is given up
// before its lease ends: its pages not yet started stay for the next
// holder.
func (e *Engine) renew(ctx context.Context) {
	t := time.NewTicker(e.margin() / 2)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		e.renewOnce(ctx)
	}
}

// writable renews h's claim, a write, and reports whether the store
// took it with the claim still h's: a page that waited for its channel
// starts only then. A claim found lost is marked so.
func (e *Engine) writable(ctx context.Context, h *hold) bool {
	ctx, cancel := context.WithTimeout(ctx, e.margin()) // a store that hangs: the claim would not hold longer
	defer cancel()
	if err := e.renewHolds(ctx, e.now(), []*hold{h}); err != nil {
		e.shared.StoreError(telemetry.StoreEngine, err)
		return false
	}
	return h.ctx.Err() == nil // not lost
}

// renewOnce renews the claims in flight once, and gives up those that
// are about to lapse.
func (e *Engine) renewOnce(ctx context.Context) {
	at := e.now()
	defer e.claims.expire(e.now(), e.margin())
	holds := e.claims.due(at)
	if len(holds) == 0 {
		return
	}
	if err := e.renewHolds(ctx, at, holds); err != nil && ctx.Err() == nil {
		e.log.Warn("renew claims", "err", err)
	}
}

// renewHolds renews the claims of holds at at: one that another holds
// now is marked lost, the others are renewed for a lease.
func (e *Engine) renewHolds(ctx context.Context, at time.Time, holds []*hold) error {
	timers := make([]klaxon.Timer, len(holds))
	for i, h := range holds {
		timers[i] = h.timer
	}
	lost, err := e.store.Renew(ctx, at, e.lease, timers)
	if err != nil {
		return err
	}
	for _, h := range holds {
		if slices.Contains(lost, h.timer.Incident) {
			if !h.released() {
				e.log.Warn("claim lost to another replica", "incident", h.timer.Incident)
			}
			h.lose()
			continue
		}
		h.renewed(at.Add(e.lease))
	}
	return nil
}
