package webhook

import (
	"sync"
	"time"

	"github.com/klaxonhq/klaxon"
)

// A receiver that answers 429 (or 503) with a Retry-After asks for
// nothing more for that long, from anyone: Slack takes about one message
// a second on an incoming webhook, and answers those over it 429
// rate_limited with a Retry-After for the webhook, not for the message.
// Were each page to wait out its own Retry-After only, every other page
// would still be posted, each refused and waiting in turn, and all would
// come back together as the wait ends: the receiver asked for less and
// got more. So a Retry-After pauses the URL:
//
//   - the page it refused is tried again no sooner than the pause ends
//     (within the try when that is at most notify.MaxInlineWait away,
//     else by the engine): a failed try, on the timeline;
//   - a page that comes during the pause does not reach the receiver: it
//     is deferred (klaxon.DeferredError), not failed;
//   - each of them is given a time of its own, spacing apart from the
//     pause's end, so that they come back at the receiver's pace rather
//     than together into the next 429. The first times go to the posts
//     that were in flight as the pause began, which the receiver most
//     likely refuses too, then the others in the order they came.
//
// A page that comes before the last time given, past the pause or not,
// queues behind the others: it is given the next time free, rather than
// go ahead of pages that came before it (the spacing would pace nothing
// then, and only hold back the pages that came during the pause). So the
// times given are remembered per page, until it comes again: at its time
// it goes, and before it (the engine waits at most its longest backoff,
// 2 minutes, for a page that failed) it waits for it. A page whose time
// was given and that does not come (its incident acknowledged meanwhile)
// keeps its second: the receiver is idle for it. A time is forgotten
// maxPause past it, when its page, should it come, goes as a new one. A status update comes again only within its try (see Send):
// it takes no time that it cannot keep. A page that comes past the times
// may still meet a receiver over its limit, which refuses it and pauses
// the URL anew. The pause is kept per replica.
const (
	// spacing is the time between two pages given times: Slack's pace
	// for an incoming webhook. A receiver of Klaxon's JSON has no known
	// pace; it asked Klaxon to slow down, and is given the same.
	spacing = time.Second
	// maxPause bounds a pause, as the engine's longest backoff (2
	// minutes) bounds its wait for one page: a receiver asking for an
	// hour gets one page every maxPause, whose refusal pauses it again,
	// rather than an hour with no page, deferred and on no timeline.
	maxPause = 2 * time.Minute
)

// pause is a URL's pause after a Retry-After. It is safe for concurrent
// use.
type pause struct {
	mu     sync.Mutex
	until  time.Time // the pause's end: no post before
	front  time.Time // the next time for a post in flight as the pause began, if refused
	next   time.Time // the next time for any other page
	flying int       // posts in flight
	given  map[pageKey]time.Time
	pruned time.Time // when forget last dropped the times long past
}

// pageKey names a page that comes again: its notification of its
// incident to its user, or its status update.
type pageKey struct {
	incident     string
	notification int
	user, update string
}

// keyOf is p's pageKey.
func keyOf(p klaxon.Page) pageKey {
	return pageKey{incident: p.Incident, notification: p.Notification, user: p.User.ID, update: p.Update}
}

// hold reports whether page k at now is to wait, and until when. A page
// that comes again (again) by the time by (zero: whenever it is given)
// is given a time, or waits for the time it was given; one that does
// not (a test page) waits for the pause's end only, and takes no time;
// one that would not come by its time waits for it, not taking it. A
// page that is not held is counted in flight until done is called.
func (p *pause) hold(now time.Time, k pageKey, again bool, by time.Time) (time.Time, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.forget(now)
	if at, ok := p.given[k]; ok && again {
		if now.Before(at) {
			return at, true
		}
		delete(p.given, k)
	} else if !again {
		if now.Before(p.until) {
			return p.until, true
		}
	} else if now.Before(p.until) || now.Before(p.next) {
		at := latest(p.next, p.until)
		if !by.IsZero() && at.After(by) {
			return at, true
		}
		return p.give(k, p.take()), true
	}
	p.flying++
	return time.Time{}, false
}

// done notes that a post hold let go has its answer, or none.
func (p *pause) done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.flying--
}

// refused notes a refusal at now, asking to wait wait, of page k, a post
// still in flight: it pauses the URL for as long (up to maxPause), and
// returns the time given to the page. A pause that begins keeps its
// first times for the posts in flight, which the receiver refuses too,
// most likely, as they come: times further back might be later than the
// engine waits (its longest backoff), and those pages would come back
// early, together, at the end of it.
func (p *pause) refused(now time.Time, wait time.Duration, k pageKey) time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	begins := !now.Before(p.until) && !now.Before(p.next)
	if until := now.Add(min(wait, maxPause)); until.After(p.until) {
		p.until = until
	}
	if begins {
		p.front, p.next = p.until, p.until.Add(time.Duration(p.flying)*spacing)
	}
	if at := latest(p.front, p.until); at.Before(p.next) {
		p.front = at.Add(spacing)
		return p.give(k, at)
	}
	return p.give(k, p.take())
}

// take gives the first time from the pause's end not given yet.
func (p *pause) take() time.Time {
	at := latest(p.next, p.until)
	p.next = at.Add(spacing)
	return at
}

// give remembers at as page k's time, and returns it.
func (p *pause) give(k pageKey, at time.Time) time.Time {
	if p.given == nil {
		p.given = map[pageKey]time.Time{}
	}
	p.given[k] = at
	return at
}

// forget drops the times given once maxPause has passed since the last
// of them, and, every maxPause while the receiver keeps refusing, each
// time maxPause past: a page that comes after that is late enough to go
// as a new one, and the pages that never come (their incidents
// acknowledged) take no memory, however long the pause goes on.
func (p *pause) forget(now time.Time) {
	switch {
	case len(p.given) == 0:
	case !now.Before(latest(p.next, p.until).Add(maxPause)):
		clear(p.given)
	case !now.Before(p.pruned.Add(maxPause)):
		p.pruned = now
		for k, at := range p.given {
			if !now.Before(at.Add(maxPause)) {
				delete(p.given, k)
			}
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
