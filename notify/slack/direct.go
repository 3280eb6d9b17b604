package slack

import (
	"errors"
	"net/http"
	"sync"
	"time"
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
//     Slack no longer knows it): the pages that come while it is being
//     opened wait for that one conversations.open;
//   - a 429 pauses that DM until its Retry-After. The page it refused,
//     and each page that comes meanwhile, is deferred
//     (klaxon.DeferredError), not failed: it stays due, each to a time
//     of its own, dmSpacing apart from the pause's end, in the order
//     they came, so that they go out at Slack's pace rather than
//     together into the next 429. A page that comes while others wait
//     their times takes the next one;
//   - a 429 to conversations.open pauses the opens, not the DMs opened:
//     each person whose DM is still to open is given a time of their
//     own, dmSpacing apart, and all their pages wait for it; once the
//     DM is open, its own gate paces them.
//
// A time whose page does not come (its incident acknowledged meanwhile)
// passes unused; and once one has passed so for a few seconds, a new
// page that would wait behind the times given asks whether their pages
// are still wanted (Options.Wanted), and takes the first time that those
// not wanted leave free, a person's open time once none of the pages
// waiting for it is (ask.go). The state is in memory, per replica, as
// the per-person limits are.

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
	dms   map[string]string   // Slack user ID -> DM channel ID
	opens map[string]*opening // by Slack user ID: the open in flight
	gates map[string]*gate    // by DM channel ID, and openGate
}

// opening is a conversations.open in flight: the other pages to the same
// person wait for its answer rather than open the DM again.
type opening struct {
	done chan struct{} // closed once it answered
	dm   string
	err  error // nil with dm "": its caller gave up; open it again
}

// opener returns the DM kept with Slack user id; else the open of it in
// flight, which the caller makes, and ends with opened, when mine.
func (d *directs) opener(id string) (dm string, o *opening, mine bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if dm, ok := d.dms[id]; ok {
		return dm, nil, false
	}
	if o := d.opens[id]; o != nil {
		return "", o, false
	}
	if d.opens == nil {
		d.opens = map[string]*opening{}
	}
	o = &opening{done: make(chan struct{})}
	d.opens[id] = o
	return "", o, true
}

// opened ends o, the open of Slack user id's DM, with what it answered:
// dm, which is kept, or err.
func (d *directs) opened(id string, o *opening, dm string, err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err == nil && dm != "" {
		if d.dms == nil {
			d.dms = map[string]string{}
		}
		d.dms[id] = dm
	}
	o.dm, o.err = dm, err
	if d.opens[id] == o {
		delete(d.opens, id)
	}
	close(o.done)
}

// forget forgets dm, which Slack no longer knows, as Slack user id's DM.
func (d *directs) forget(id, dm string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.dms[id] == dm {
		delete(d.dms, id)
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
