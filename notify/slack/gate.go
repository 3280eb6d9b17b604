package slack

import (
	"slices"
	"time"

	"github.com/klaxonhq/klaxon"
)

// holder holds a time of a gate: a page, in a DM's gate; a Slack user,
// in conversations.open's, whose pages all wait for one open.
type holder struct {
	page klaxon.PageRef
	user string
}

// gate holds the calls to one DM (or conversations.open) that Slack
// throttled.
type gate struct {
	until time.Time            // the Retry-After's end: no call before
	tail  time.Time            // the first time after every one given
	slots map[holder]time.Time // each deferred holder's time
	holes bool                 // times before tail were given up: a page may take one
	went  time.Time            // when the last page went through
	came  time.Time            // when the last page came
	// asked is when the pages holding times were last asked whether
	// they are still wanted; quiet, how long the gate stays idle before
	// they are asked again; asking, closed once the pages asked about
	// are sorted, while they are.
	asked  time.Time
	quiet  time.Duration
	asking chan struct{}
}

// held is a page holding a time of a gate.
type held struct {
	page klaxon.PageRef
	at   time.Time
}

// ask is the question whether the pages holding a gate's times are
// still to be sent. The page that raised it (mine) asks and answers
// withdraw; the others wait for done.
type ask struct {
	pages []held
	mine  bool
	done  chan struct{}
}

// hold reports whether h (nil: a page that does not come again, a test
// page) waits before a call through gate key at now, and until when. A
// page that waits is given a time of its own, unless it has one still
// to come. Instead, when the times the page would wait behind may be
// those of pages withdrawn, hold returns an ask.
func (d *directs) hold(key string, h *holder, now time.Time) (time.Time, bool, *ask) {
	d.mu.Lock()
	defer d.mu.Unlock()
	g := d.gates[key]
	if g == nil {
		return time.Time{}, false, nil
	}
	came := g.came
	g.came = now
	g.prune(now)
	if h != nil {
		if at, ok := g.slots[*h]; ok {
			if now.Before(at) {
				return at, true, nil // early
			}
			delete(g.slots, *h)
			if !now.Before(g.until) {
				g.went = now
				return time.Time{}, false, nil // its turn
			}
			// Slack throttled the gate again since: a time anew.
		}
	}
	start := latest(now, g.until)
	at := g.free(start)
	if !at.After(now) {
		g.went = now
		if len(g.slots) == 0 {
			delete(d.gates, key)
		}
		return time.Time{}, false, nil
	}
	if at.After(start) && key != openGate { // behind times given
		if g.asking != nil {
			return time.Time{}, false, &ask{done: g.asking}
		}
		if g.stalled(now, came) {
			g.asking, g.asked = make(chan struct{}), now
			return time.Time{}, false, &ask{pages: g.held(), mine: true, done: g.asking}
		}
	}
	return g.take(h, at), true, nil
}

// limited notes Slack's 429 at now to a call through gate key, asking to
// wait wait (0: it did not say), and returns the time given to h, which
// it refused (nil: one not given a time).
func (d *directs) limited(key string, h *holder, now time.Time, wait time.Duration) time.Time {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.sweep(now)
	g := d.gates[key]
	if g == nil {
		if d.gates == nil {
			d.gates = map[string]*gate{}
		}
		g = &gate{slots: map[holder]time.Time{}, quiet: 2 * dmSpacing}
		d.gates[key] = g
	}
	g.came = now
	if wait <= 0 {
		wait = dmSpacing
	}
	if until := now.Add(wait); until.After(g.until) {
		g.until = until
	}
	if h != nil {
		delete(g.slots, *h)
	}
	return g.take(h, g.free(latest(now, g.until)))
}

// withdraw answers a, the ask of gate key: the pages gone are not to be
// sent, and give up their times. An ask that dropped none makes the
// gate wait twice as long before it asks again (up to slotGrace).
func (d *directs) withdraw(key string, a *ask, gone []held) {
	d.mu.Lock()
	defer d.mu.Unlock()
	defer close(a.done)
	g := d.gates[key]
	if g == nil || g.asking != a.done {
		return
	}
	g.asking = nil
	dropped := 0
	for _, p := range gone {
		h := holder{page: p.page}
		if at, ok := g.slots[h]; ok && at.Equal(p.at) {
			delete(g.slots, h)
			dropped++
		}
	}
	if dropped == 0 {
		g.quiet = min(2*g.quiet, slotGrace)
		return
	}
	g.quiet, g.holes, g.tail = 2*dmSpacing, true, time.Time{}
	for _, at := range g.slots {
		g.tail = latest(g.tail, at.Add(dmSpacing))
	}
}

// stalled reports whether the pages holding the gate's times may have
// been withdrawn: since the pause ended, none came for its time for
// quiet (during the pause, none came at all since came), nor were they
// asked about.
func (g *gate) stalled(now, came time.Time) bool {
	since := latest(g.went, g.until)
	if now.Before(g.until) {
		since = came
	}
	return now.Sub(latest(since, g.asked)) >= g.quiet
}

// held returns the pages holding the gate's times, the first first.
func (g *gate) held() []held {
	var out []held
	for h, at := range g.slots {
		if h.user == "" {
			out = append(out, held{page: h.page, at: at})
		}
	}
	slices.SortFunc(out, func(a, b held) int { return a.at.Compare(b.at) })
	return out
}

// free returns the first time from start that is dmSpacing clear of the
// last page that went and of every time given. It looks between the
// times given only once some were given up, until it finds no room
// there.
func (g *gate) free(start time.Time) time.Time {
	if !g.went.IsZero() {
		start = latest(start, g.went.Add(dmSpacing))
	}
	if !g.holes || !start.Before(g.tail) {
		return latest(start, g.tail)
	}
	times := make([]time.Time, 0, len(g.slots))
	for _, at := range g.slots {
		times = append(times, at)
	}
	slices.SortFunc(times, time.Time.Compare)
	at := start
	for _, t := range times {
		if t.Sub(at) >= dmSpacing {
			return at
		}
		at = latest(at, t.Add(dmSpacing))
	}
	g.holes = false
	return latest(at, g.tail)
}

// take gives at to h, unless it is nil, and returns it.
func (g *gate) take(h *holder, at time.Time) time.Time {
	if h != nil {
		g.slots[*h] = at
		g.tail = latest(g.tail, at.Add(dmSpacing))
	}
	return at
}

// prune forgets the times of pages that did not come for them.
func (g *gate) prune(now time.Time) {
	for h, at := range g.slots {
		if now.Sub(at) > slotGrace {
			delete(g.slots, h)
		}
	}
}

// sweep forgets the gates that hold nothing back any more.
func (d *directs) sweep(now time.Time) {
	for key, g := range d.gates {
		g.prune(now)
		if len(g.slots) == 0 && !now.Before(g.until) && !now.Before(g.tail) && g.asking == nil {
			delete(d.gates, key)
		}
	}
}

// latest is the latest of a and b.
func latest(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
