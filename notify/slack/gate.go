package slack

import (
	"slices"
	"time"

	"github.com/klaxonhq/klaxon"
)

// holder holds a time of a gate: a page, in a DM's gate; a Slack user,
// in conversations.open's, whose pages all wait for one open (page, when
// set, is the page that waits for it).
type holder struct {
	page klaxon.PageRef
	user string
}

// slot is the key of h's time in its gate: its user's, in
// conversations.open's; else its page's.
func (h holder) slot() holder {
	if h.user != "" {
		return holder{user: h.user}
	}
	return h
}

// gate holds the calls to one DM (or conversations.open) that Slack
// throttled.
type gate struct {
	until time.Time            // the Retry-After's end: no call before
	tail  time.Time            // the first time after every one given
	slots map[holder]time.Time // each deferred holder's time
	// waits are, in conversations.open's gate, the pages that wait for
	// each Slack user's time (by user).
	waits map[string]map[klaxon.PageRef]bool
	holes bool      // times before tail were given up: a page may take one
	went  time.Time // when the last page went through
	came  time.Time // when the last page came
	// asked is when the pages holding times were last asked whether
	// they are still wanted; quiet, how long before they may be asked
	// again; asking, closed once the pages asked about are sorted,
	// while they are (see ask.go).
	asked  time.Time
	quiet  time.Duration
	asking chan struct{}
}

// hold reports whether h (nil: a page that does not come again, a test
// page) waits before a call through gate key at now, and until when. A
// page that waits is given a time of its own, unless it has one still
// to come (or, in conversations.open's gate, its user has). Instead,
// when the times the page would wait behind may be those of pages
// withdrawn, hold returns an ask.
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
		if at, ok := g.slots[h.slot()]; ok {
			if now.Before(at) {
				g.wait(*h)
				return at, true, nil // early
			}
			g.drop(h.slot())
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
	if at.After(start) { // behind times given
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
		g = &gate{slots: map[holder]time.Time{}, waits: map[string]map[klaxon.PageRef]bool{}, quiet: 2 * dmSpacing}
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
		delete(g.slots, h.slot())
	}
	return g.take(h, g.free(latest(now, g.until)))
}

// waitOpen notes that h, a page to h.user, waits for the time its
// user's conversations.open was given, as the page that opens it does.
func (d *directs) waitOpen(h holder) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if g := d.gates[openGate]; g != nil {
		if _, ok := g.slots[h.slot()]; ok {
			g.wait(h)
		}
	}
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
		g.slots[h.slot()] = at
		g.tail = latest(g.tail, at.Add(dmSpacing))
		g.wait(*h)
	}
	return at
}

// wait notes the page of h as one waiting for its user's time, in
// conversations.open's gate.
func (g *gate) wait(h holder) {
	if h.user == "" || h.page == (klaxon.PageRef{}) {
		return
	}
	if g.waits[h.user] == nil {
		g.waits[h.user] = map[klaxon.PageRef]bool{}
	}
	g.waits[h.user][h.page] = true
}

// drop takes the time of slot back, and forgets the pages waiting for it.
func (g *gate) drop(slot holder) {
	delete(g.slots, slot)
	if slot.user != "" {
		delete(g.waits, slot.user)
	}
}

// prune forgets the times of pages that did not come for them.
func (g *gate) prune(now time.Time) {
	for h, at := range g.slots {
		if now.Sub(at) > slotGrace {
			g.drop(h)
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
