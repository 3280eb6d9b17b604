package notify

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/klaxonhq/klaxon"
)

// Notifier delivers a page; the Dispatcher is one.
type Notifier interface {
	Notify(ctx context.Context, p klaxon.Page) error
}

// Throttle keeps each person to at most one page per contact method per
// limit (by default one SMS and one call a minute). A page that comes
// sooner is deferred to when the limit allows: the engine keeps it due
// until then, so a crash loses nothing. By a contact method that
// bundles (SMS), the page that goes out then bundles every page that
// waited and is still wanted ("12 incidents for alice: reply AA to ack
// all"), and the bundled ones, when they come again, are reported as
// sent in it. By another (a call, which speaks one incident), the pages
// that waited go out one a limit each.
//
// By a contact method that calls (ThrottleOptions.Calls), a person on a
// call gets no other: the next waits, in steps of callStep, until the
// call ended (Throttle.Ended), or for ThrottleOptions.CallCap after it
// was placed, in case its end is never reported here. A call whose
// placing failed holds nobody, unless the provider may have placed it
// all the same (MaybeSent: a timeout, a 5xx): its person is held as on
// it, and the page's next try waits too.
//
// The state is in memory, per replica: after a restart, or across
// replicas, a person may get a page more within a limit, never one less.
type Throttle struct {
	next    Notifier
	limits  map[string]time.Duration
	bundles map[string]bool
	calls   map[string]bool
	callCap time.Duration
	wanted  func(context.Context, klaxon.Page) bool
	fits    func(klaxon.Page) bool
	now     func() time.Time

	mu     sync.Mutex
	people map[throttleKey]*window
	onCall map[klaxon.PageRef]throttleKey // calls placed and not ended, by page
}

type throttleKey struct{ user, via string }

// window is one person's pages by one contact method.
type window struct {
	last   time.Time      // when the last page or bundle went out
	call   klaxon.PageRef // the call the person is on, while callAt is set
	callAt time.Time      // when it was placed; zero once it ended
	// ended is when the person's last call ended (Throttle.Ended); zero
	// while they are on one. The calls held for it are due from then,
	// though they come again only at their next step: a later
	// incident's call that comes meanwhile gives them the window (turn).
	ended   time.Time
	waiting map[string]klaxon.Page // deferred pages, by incident
	// due is when each waiting page was put off to, by incident: the
	// engine records it sent only then, so a bundle names it only from
	// then (a window given back by a failed send opens sooner).
	due     map[string]time.Time
	sending map[klaxon.PageRef]chan struct{} // pages in a bundle on its way: closed once it is
	bundled map[klaxon.PageRef]time.Time     // pages sent in the last bundles
}

// ThrottleOptions are a Throttle's limits.
type ThrottleOptions struct {
	// Limits are the least time between two pages to one person by a
	// contact method (klaxon.ViaSMS: a minute, say); methods without a
	// limit pass straight through, but for calls (Calls), which still go
	// one at a time.
	Limits map[string]time.Duration
	// Bundles are the contact methods whose page can stand for others
	// that waited: its text lists them, and a reply acts on them all.
	Bundles map[string]bool
	// Calls are the contact methods whose page is a call: the next
	// waits until it ended (see Throttle.Ended), or for CallCap from
	// its placing.
	Calls map[string]bool
	// CallCap is the longest a call lasts from its placing (the most
	// its person is taken to be on it when its end is not reported to
	// this replica); 0: callCap.
	CallCap time.Duration
	// Wanted reports whether a page that waited is still to be sent
	// (klaxon.PageWanted); nil: every one is.
	Wanted func(context.Context, klaxon.Page) bool
	// Fits reports whether a bundle's text fits its contact method (an
	// SMS's one segment); nil: any does. A bundle names the pages that
	// waited, the first incidents first, as many as fit; the others wait
	// for the next window: a page is never reported sent in a bundle
	// whose text the carrier cut.
	Fits func(klaxon.Page) bool
	// Now is the clock; nil for time.Now.
	Now func() time.Time
}

// NewThrottle limits pages to next as o says.
func NewThrottle(next Notifier, o ThrottleOptions) *Throttle {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.CallCap <= 0 {
		o.CallCap = callCap
	}
	return &Throttle{next: next, limits: o.Limits, bundles: o.Bundles, calls: o.Calls, callCap: o.CallCap, wanted: o.Wanted, fits: o.Fits, now: o.Now,
		people: map[throttleKey]*window{}, onCall: map[klaxon.PageRef]throttleKey{}}
}

// callStep is how often a call held back while its person is on another
// comes again; callCap is how long after a call was placed its person is
// taken to be on it, when its end is not reported (see Throttle.Ended),
// unless ThrottleOptions.CallCap says.
const (
	callStep = 15 * time.Second
	callCap  = 10 * time.Minute
)

// Ended reports that the call of page ref ended (completed, busy,
// unanswered, failed): its person may get the next. The next, held back,
// goes at its next step (callStep). A call this replica did not place,
// or whose person is on a later one, changes nothing.
func (t *Throttle) Ended(ref klaxon.PageRef) {
	t.mu.Lock()
	defer t.mu.Unlock()
	k, ok := t.onCall[ref]
	if !ok {
		return
	}
	delete(t.onCall, ref)
	if w := t.people[k]; w != nil && w.call == ref {
		w.callAt, w.ended = time.Time{}, t.now()
	}
}

// onCallUntil reports whether a page by via, a contact method that
// calls, finds w's person on a call at now, and if so when it is to come
// again: the next step from the call's placing, so that the pages held
// come again together and go in turn, or at the cap.
func (t *Throttle) onCallUntil(w *window, via string, now time.Time) (time.Time, bool) {
	if !t.calls[via] || w.callAt.IsZero() {
		return time.Time{}, false
	}
	end := w.callAt.Add(t.callCap)
	if !now.Before(end) {
		return time.Time{}, false
	}
	next := w.callAt.Add((now.Sub(w.callAt)/callStep + 1) * callStep)
	if next.After(end) {
		next = end
	}
	return next, true
}

// heldUntil reports whether a page by via, with limit, finds w closed at
// now, and if so until when: its person on a call (onCallUntil), or its
// window not open again yet.
func (t *Throttle) heldUntil(w *window, via string, limit time.Duration, now time.Time) (time.Time, bool) {
	if until, busy := t.onCallUntil(w, via, now); busy {
		return until, true
	}
	if open := w.last.Add(limit); now.Before(open) {
		return open, true
	}
	return time.Time{}, false
}

// hold puts p off to until, to wait its turn in w.
func (w *window) hold(p klaxon.Page, until time.Time) error {
	w.waiting[p.Incident], w.due[p.Incident] = p, until
	return &klaxon.DeferredError{Until: until}
}

// Notify sends p, defers it (*klaxon.DeferredError), or reports it went
// out in a bundle already (klaxon.ErrBundled).
func (t *Throttle) Notify(ctx context.Context, p klaxon.Page) error {
	limit := t.limits[p.Via]
	if limit <= 0 && !t.calls[p.Via] {
		return t.next.Notify(ctx, p)
	}
	// keep is how long a page that waited keeps its turn: a limit, or,
	// for calls held with no limit, a minute (they come again every
	// callStep).
	keep := limit
	if keep <= 0 {
		keep = time.Minute
	}
	k := throttleKey{p.User.ID, p.Via}
	t.mu.Lock()
	w := t.people[k]
	if w == nil {
		w = &window{waiting: map[string]klaxon.Page{}, due: map[string]time.Time{}, sending: map[klaxon.PageRef]chan struct{}{}, bundled: map[klaxon.PageRef]time.Time{}}
		t.people[k] = w
	}
	ref := klaxon.PageRef{Incident: p.Incident, Notification: p.Notification}
	for {
		// In a bundle still on its way: told as soon as it went out,
		// so that it is on record before a reply (AA) or a delivery
		// report of the bundle comes.
		on, ok := w.sending[ref]
		if !ok {
			break
		}
		t.mu.Unlock()
		select {
		case <-on:
		case <-ctx.Done():
			return ctx.Err()
		}
		t.mu.Lock()
	}
	now := t.now()
	w.prune(now, keep)
	if _, ok := w.bundled[ref]; ok {
		delete(w.bundled, ref)
		t.mu.Unlock()
		return klaxon.ErrBundled
	}
	if until, held := t.heldUntil(w, p.Via, limit, now); held {
		err := w.hold(p, until)
		t.mu.Unlock()
		return err
	}
	// By a contact method that does not bundle, the pages that waited
	// go one a window, the first incident first: a later incident's
	// page gives the open window to an earlier one's that waited and is
	// due, and comes again a moment later. One still wanted that is not
	// back within a window (a busy engine, another replica's) is let go.
	for !t.bundles[p.Via] {
		q, ok := w.turn(p.Incident, now, keep)
		if !ok {
			break
		}
		if t.wanted != nil {
			t.mu.Unlock()
			wanted := t.wanted(ctx, q)
			t.mu.Lock()
			if !wanted {
				if cur, ok := w.waiting[q.Incident]; ok && cur.Notification == q.Notification {
					w.drop(q.Incident)
				}
				// Taken meanwhile: the window, or with no limit, which
				// closes none, the person by a call placed meanwhile.
				if until, held := t.heldUntil(w, p.Via, limit, now); held {
					err := w.hold(p, until)
					t.mu.Unlock()
					return err
				}
				continue
			}
		}
		until := now.Add(turnGrace)
		err := w.hold(p, until)
		t.mu.Unlock()
		return err
	}
	w.drop(p.Incident)
	prev := w.last
	w.last = now // the window is this page's: others that come now wait
	if t.calls[p.Via] {
		// On the call from now: its end may be reported before the
		// provider's answer is.
		delete(t.onCall, w.call)
		w.call, w.callAt, w.ended = ref, now, time.Time{}
		t.onCall[ref] = k
	}
	var candidates map[string]klaxon.Page
	deciding := make(chan struct{})
	if t.bundles[p.Via] {
		candidates = map[string]klaxon.Page{}
		for id, o := range w.waiting {
			if !w.due[id].After(now) {
				candidates[id] = o
			}
		}
		// Each is being decided: one that comes again meanwhile (every
		// page that waited comes due as the window opens) waits to hear
		// whether the bundle names it, rather than being put off a whole
		// limit while the bundle that names it goes out.
		for id, o := range candidates {
			w.sending[klaxon.PageRef{Incident: id, Notification: o.Notification}] = deciding
		}
	}
	t.mu.Unlock()

	named, unwanted := t.decide(ctx, p, candidates)
	others := map[string]klaxon.Page{}
	on := make(chan struct{})
	t.mu.Lock()
	for id, o := range candidates {
		unmark(w, klaxon.PageRef{Incident: id, Notification: o.Notification}, deciding)
	}
	for id, o := range w.waiting {
		switch c, asked := candidates[id]; {
		case !asked, c.Notification != o.Notification: // came since (a newer page of it): the next window's
		case unwanted[id]:
			w.drop(id)
		case named[id]:
			others[id] = o
		}
	}
	// others are the very pages decide named (a newer page of an
	// incident is the next window's), or fewer: their bundle fits.
	for id, o := range others {
		w.drop(id)
		w.sending[klaxon.PageRef{Incident: id, Notification: o.Notification}] = on
	}
	close(deciding) // the named wait for the bundle now, the others are put off
	t.mu.Unlock()

	send := p
	if len(others) > 0 {
		send = bundle(p, others)
	}
	err := t.next.Notify(ctx, send)
	// Marked bundled only once the bundle went out: one that comes
	// meanwhile waits (the window is closed), and is then reported sent
	// in it, or, if nothing went out, waits for the next try.
	t.mu.Lock()
	for id, o := range others {
		ref := klaxon.PageRef{Incident: id, Notification: o.Notification}
		unmark(w, ref, on)
		switch _, newer := w.waiting[id]; {
		case err == nil:
			w.bundled[ref] = now
		case !newer:
			w.waiting[id], w.due[id] = o, now
		}
	}
	// A call the provider may have placed though it failed (MaybeSent:
	// a timeout, a 5xx) keeps its window, and its person on it until its
	// end is reported or the cap: the engine's next try must not ring
	// over it.
	maybeOnCall := t.calls[p.Via] && MaybeSent(err)
	if err != nil && !maybeOnCall && w.last.Equal(now) {
		// Given back, unless another page took a later window meanwhile
		// (this one's provider hung past the limit): that one went out.
		w.last = prev
	}
	if err != nil && !maybeOnCall && w.call == ref && w.callAt.Equal(now) {
		delete(t.onCall, ref) // not placed
		w.callAt = time.Time{}
	}
	close(on)
	t.mu.Unlock()
	return err
}

// turnGrace is how long a page that gave its window to an earlier
// incident's waits before it comes again (see Throttle.Notify).
const turnGrace = 2 * time.Second

// turn returns the page of the first incident before id that waited and
// is due at now, if any: the window is its turn. Waiting pages due a
// whole limit ago or more, which did not come back, are forgotten.
func (w *window) turn(id string, now time.Time, limit time.Duration) (klaxon.Page, bool) {
	first := ""
	for other := range w.waiting {
		at := w.due[other]
		due := at // held for a call that ended since: due from its end
		if !w.ended.IsZero() && w.ended.Before(at) {
			due = w.ended
		}
		switch {
		case other == id || now.Before(due):
		case now.Sub(at) >= limit:
			w.drop(other)
		case incidentBefore(other, id):
			if first == "" || incidentBefore(other, first) {
				first = other
			}
		}
	}
	if first == "" {
		return klaxon.Page{}, false
	}
	return w.waiting[first], true
}

// unmark ends ref's mark in w.sending if it is still c: another window
// may have marked it since.
func unmark(w *window, ref klaxon.PageRef, c chan struct{}) {
	if w.sending[ref] == c {
		delete(w.sending, ref)
	}
}

// prune forgets waiting pages and bundle marks old enough that their
// incidents were acknowledged or resolved meanwhile: a waiting page due
// ten limits ago would have come again by then.
func (w *window) prune(now time.Time, limit time.Duration) {
	stale := now.Add(-10 * limit)
	for id, at := range w.bundled {
		if at.Before(stale) {
			delete(w.bundled, id)
		}
	}
	for id := range w.waiting {
		if w.due[id].Before(stale) {
			w.drop(id)
		}
	}
}

// drop forgets the page of incident id that waited.
func (w *window) drop(id string) {
	delete(w.waiting, id)
	delete(w.due, id)
}

// decide asks, in incident order, whether each page that waited is
// still wanted (one acknowledged or resolved since is left out, and
// forgotten), and names those that are while a bundle with p fits (see
// ThrottleOptions.Fits). The rest are not asked: they wait for the next
// window. Asked before any is marked bundled, so that no page is
// reported sent in a bundle whose text does not name it.
func (t *Throttle) decide(ctx context.Context, p klaxon.Page, candidates map[string]klaxon.Page) (named, unwanted map[string]bool) {
	named, unwanted = map[string]bool{}, map[string]bool{}
	in := map[string]klaxon.Page{}
	for _, id := range byIncident(slices.Collect(maps.Keys(candidates))) {
		o := candidates[id]
		if t.wanted != nil && !t.wanted(ctx, o) {
			unwanted[id] = true
			continue
		}
		in[id] = o
		if t.fits != nil && !t.fits(bundle(p, in)) {
			break
		}
		named[id] = true
	}
	return named, unwanted
}

// byIncident sorts incident IDs as numbers are: shorter first.
func byIncident(ids []string) []string {
	sort.Slice(ids, func(i, j int) bool { return incidentBefore(ids[i], ids[j]) })
	return ids
}

// incidentBefore reports whether incident a opened before b: IDs are
// numbers, the shorter the older.
func incidentBefore(a, b string) bool {
	return len(a) < len(b) || len(a) == len(b) && a < b
}

// bundle makes p into the page of p and others together.
func bundle(p klaxon.Page, others map[string]klaxon.Page) klaxon.Page {
	ids := []string{p.Incident}
	for id := range others {
		ids = append(ids, id)
	}
	byIncident(ids)
	p.Bundle = len(ids)
	for _, id := range ids {
		if o, ok := others[id]; ok {
			p.Bundled = append(p.Bundled, klaxon.PageRef{Incident: id, Notification: o.Notification})
		}
	}
	p.Text = fmt.Sprintf("%d incidents for %s: #%s. Reply AA to ack all", len(ids), p.User.ID, strings.Join(ids, " #"))
	return p
}

// Carrier names the channel that carries pages of contact method via, as
// next says (see Dispatcher.Carrier); via itself when next does not say.
func (t *Throttle) Carrier(via string) string {
	if c, ok := t.next.(interface{ Carrier(string) string }); ok {
		return c.Carrier(via)
	}
	return via
}
