package escalate

import (
	"context"
	"errors"
	"time"
)

// A channel's slots: the bound on the pages in flight by one contact
// method (Options.PerChannel), and on the pages that wait for one.

// slotWait is how long a page waits for a slot of its channel, all taken
// by pages to a provider that answers slowly, before it is put off by
// busyRetry: the claim of an incident that pages nothing else is then
// given up, so that another replica, whose channel may be free, may take
// it. A page that waits does not count among the incidents the engine
// pages for at once (claims.park): the engine takes others meanwhile,
// whose pages may go by another channel.
//
// As many pages may wait for a channel as it has slots. One that finds
// them all waiting does not wait: it is put off by turnedAway at once,
// and its incident's claim given up if it pages nothing else, so that a
// storm's backlog of pages behind a provider that hangs holds neither
// the engine's incidents nor a page by another channel, due after them.
// turnedAway is a wait and its put-off, so that each page of the backlog
// is tried as often as one that waited: the store commits each such
// try, and a longer backlog is tried no more often.
const (
	slotWait   = 5 * time.Second
	busyRetry  = time.Second
	turnedAway = slotWait + busyRetry
)

// errBusy is a page that found its channel's slots taken: for slotWait,
// or at once, with as many pages waiting.
var errBusy = errors.New("every slot of the channel is taken")

// channel is the slots of one contact method, and how many pages wait
// for one.
type channel struct {
	slots   chan struct{}
	waiting int // guarded by Engine.slotsMu
}

// channel returns the slots of contact method via.
func (e *Engine) channel(via string) *channel {
	e.slotsMu.Lock()
	defer e.slotsMu.Unlock()
	c, ok := e.slots[via]
	if !ok {
		c = &channel{slots: make(chan struct{}, e.perChannel)}
		e.slots[via] = c
	}
	return c
}

// slot takes a free slot of contact method via for a page under h, and
// returns the function that frees it, and whether it had to wait. When
// every slot is taken it waits up to slotWait for one, unless as many
// pages wait already; while it waits, h does not count among the
// incidents the engine pages for at once. errBusy if no slot came free,
// or ctx's error if ctx ends first.
func (e *Engine) slot(ctx context.Context, h *hold, via string) (free func(), waited bool, err error) {
	c := e.channel(via)
	select {
	case c.slots <- struct{}{}:
		return func() { <-c.slots }, false, nil
	default:
	}
	e.slotsMu.Lock()
	if c.waiting >= cap(c.slots) {
		e.slotsMu.Unlock()
		return nil, false, errBusy
	}
	c.waiting++
	e.slotsMu.Unlock()
	e.claims.park(h)
	// Its room may let the engine take an incident it had none for.
	e.Wake(h.timer.Group)
	defer func() {
		e.claims.unpark(h)
		e.slotsMu.Lock()
		c.waiting--
		e.slotsMu.Unlock()
	}()
	t := time.NewTimer(slotWait)
	defer t.Stop()
	select {
	case c.slots <- struct{}{}:
		return func() { <-c.slots }, true, nil
	case <-t.C:
		return nil, true, errBusy
	case <-ctx.Done():
		return nil, true, ctx.Err()
	}
}
