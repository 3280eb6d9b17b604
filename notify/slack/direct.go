package slack

import (
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/klaxonhq/klaxon"
)

// Pages by direct message in a storm. Slack takes about one message a
// second in a channel, a person's DM as any, after a short burst, and
// answers the calls over it 429 with a Retry-After; it limits
// conversations.open per workspace (Tier 3). Were every page to call
// Slack as it comes, a storm of pages to one person would be answered
// 429 but for a few, each 429 a try failed on the timeline and tried
// again after the engine's backoff, all at once again. So:
//
//   - a person's DM is opened once, and kept (opened again only once
//     Slack no longer knows it);
//   - a 429 pauses that DM (conversations.open's: every DM still to open)
//     until its Retry-After. The page it refused, and each page that
//     comes meanwhile, is deferred (klaxon.DeferredError), not failed:
//     it stays due, each to a time of its own, dmSpacing apart from the
//     pause's end, in the order they came, so that they go out at
//     Slack's pace rather than together into the next 429. A page that
//     comes while others wait their times takes the next one.
//
// A time whose page does not come (its incident acknowledged
// meanwhile) passes unused. The state is in memory, per replica, as the
// per-person limits are.

// dmSpacing is the time between two deferred pages to one DM: Slack's
// pace of messages in a channel.
const dmSpacing = time.Second

// slotGrace is how late a deferred page may come for its time; later,
// it takes the next free one.
const slotGrace = time.Minute

// openGate is the gate of conversations.open, which Slack limits per
// workspace, not per person.
const openGate = "conversations.open"

// directs are the DMs opened and their gates. It is safe for concurrent
// use.
type directs struct {
	mu    sync.Mutex
	dms   map[string]string // Slack user ID -> DM channel ID
	gates map[string]*gate  // by DM channel ID, and openGate
}

// gate holds the calls to one DM (or conversations.open) that Slack
// throttled.
type gate struct {
	until time.Time                    // the Retry-After's end: no call before
	tail  time.Time                    // the first time not given to a page
	slots map[klaxon.PageRef]time.Time // each deferred page's time
}

// dm is the DM channel opened with Slack user id, if one is kept.
func (d *directs) dm(id string) (string, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	dm, ok := d.dms[id]
	return dm, ok
}

// keep keeps dm as the DM channel of Slack user id.
func (d *directs) keep(id, dm string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.dms == nil {
		d.dms = map[string]string{}
	}
	d.dms[id] = dm
}

// forget forgets dm, which Slack no longer knows, as Slack user id's DM.
func (d *directs) forget(id, dm string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.dms[id] == dm {
		delete(d.dms, id)
	}
}

// hold reports whether the page ref (nil: one that does not come again,
// a test page) waits before a call through gate key at now, and until
// when. A page that waits is given a time of its own, unless it has
// one still to come.
func (d *directs) hold(key string, ref *klaxon.PageRef, now time.Time) (time.Time, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	g := d.gates[key]
	if g == nil {
		return time.Time{}, false
	}
	g.prune(now)
	if ref != nil {
		if at, ok := g.slots[*ref]; ok {
			if now.Before(at) {
				return at, true // early
			}
			delete(g.slots, *ref)
			if !now.Before(g.until) {
				return time.Time{}, false // its turn
			}
			// Slack throttled the gate again since: a time anew.
		}
	}
	if !now.Before(g.until) && !now.Before(g.tail) {
		if len(g.slots) == 0 {
			delete(d.gates, key)
		}
		return time.Time{}, false
	}
	return g.take(ref, now), true
}

// limited notes Slack's 429 at now to a call through gate key, asking to
// wait wait (0: it did not say), and returns the time given to the page
// ref that it refused.
func (d *directs) limited(key string, ref *klaxon.PageRef, now time.Time, wait time.Duration) time.Time {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.sweep(now)
	g := d.gates[key]
	if g == nil {
		if d.gates == nil {
			d.gates = map[string]*gate{}
		}
		g = &gate{slots: map[klaxon.PageRef]time.Time{}}
		d.gates[key] = g
	}
	if wait <= 0 {
		wait = dmSpacing
	}
	if until := now.Add(wait); until.After(g.until) {
		g.until = until
	}
	if ref != nil {
		delete(g.slots, *ref)
	}
	return g.take(ref, now)
}

// take returns the first time free at now, given to ref unless it is nil.
func (g *gate) take(ref *klaxon.PageRef, now time.Time) time.Time {
	at := now
	for _, t := range []time.Time{g.until, g.tail} {
		if t.After(at) {
			at = t
		}
	}
	if ref != nil {
		g.slots[*ref] = at
		g.tail = at.Add(dmSpacing)
	}
	return at
}

// prune forgets the times of pages that did not come for them.
func (g *gate) prune(now time.Time) {
	for ref, at := range g.slots {
		if now.Sub(at) > slotGrace {
			delete(g.slots, ref)
		}
	}
}

// sweep forgets the gates that hold nothing back any more.
func (d *directs) sweep(now time.Time) {
	for key, g := range d.gates {
		g.prune(now)
		if len(g.slots) == 0 && !now.Before(g.until) && !now.Before(g.tail) {
			delete(d.gates, key)
		}
	}
}

// throttled reports whether err is Slack's 429, and the wait it asked.
func throttled(err error) (time.Duration, bool) {
	var se *Error
	if !errors.As(err, &se) {
		return 0, false
	}
	return se.RetryAfter, se.Status == http.StatusTooManyRequests || se.Code == "ratelimited" || se.Code == "rate_limited"
}

// gone reports whether err is Slack saying it knows no such channel.
func gone(err error) bool {
	var se *Error
	return errors.As(err, &se) && se.Code == "channel_not_found"
}
