package webhook

import (
	"sync"
	"time"
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
// Past the pause, pages go as they come. The times given are not
// remembered per page (a page may come back at its time or not at all,
// its incident acknowledged meanwhile): the state is a few times per
// URL, however many pages wait, and a time whose page does not come holds
// up no other. A page that comes past the pause but before its time
// (the engine waits at most its longest backoff, 2 minutes, for a page
// that failed), or a new page, may meet a receiver still over its limit,
// which refuses it and pauses the URL anew. The pause is kept per
// replica.
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
}

// hold reports whether a page at now is to wait, and until when: the
// time it is given, when it comes again (again); else the pause's end,
// for a page that does not (a test page), which takes no time. A page
// that is not held is counted in flight until done is called.
func (p *pause) hold(now time.Time, again bool) (time.Time, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !now.Before(p.until) {
		p.flying++
		return time.Time{}, false
	}
	if !again {
		return p.until, true
	}
	return p.take(), true
}

// done notes that a post hold let go has its answer, or none.
func (p *pause) done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.flying--
}

// refused notes a refusal at now, asking to wait wait, of a post still
// in flight: it pauses the URL for as long (up to maxPause), and returns
// the time given to the page refused. A pause that begins keeps its
// first times for the posts in flight, which the receiver refuses too,
// most likely, as they come: times further back might be later than the
// engine waits (its longest backoff), and those pages would come back
// early, together, at the end of it.
func (p *pause) refused(now time.Time, wait time.Duration) time.Time {
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
		return at
	}
	return p.take()
}

// take gives the first time from the pause's end not given yet.
func (p *pause) take() time.Time {
	at := latest(p.next, p.until)
	p.next = at.Add(spacing)
	return at
}

// latest is the latest of a and b.
func latest(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
