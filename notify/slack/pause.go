package slack

import (
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/klaxonhq/klaxon"
)

// The sync's pauses: a channel Slack throttled waits out its
// Retry-After, keyed by the channel's ID as Slack keys its limits; the
// store unavailable holds every change back.

// pause holds back for d the changes of the channel key names (see
// key); with all, every change.
func (y *Sync) pause(key string, d time.Duration, all bool) {
	y.mu.Lock()
	defer y.mu.Unlock()
	until := time.Now().Add(d)
	if all {
		y.all = until
		return
	}
	y.paused[key] = until
}

// key names the channel c's next call goes to as Slack keys its limits,
// by its ID: that of c's message once it has one; before, the ID of its
// policy's channel, once Slack answered a post to that name, else the
// name, with or without its #. So a channel spelled two ways (#ops and
// its ID C0123) pauses once, for both. Slack gives a name's ID only in
// the answer of a post: a name that never had a post taken is a channel
// of its own until then.
func (y *Sync) key(c *change) string {
	y.mu.Lock()
	defer y.mu.Unlock()
	return y.keyLocked(c)
}

// keyLocked is key with y.mu held.
func (y *Sync) keyLocked(c *change) string {
	if c.chat != "" {
		return c.chat
	}
	name := channelName(c.channel)
	if id, ok := y.ids[name]; ok {
		return id
	}
	return name
}

// learn notes id as the ID of channel, as Slack answered a post to it.
func (y *Sync) learn(channel, id string) {
	if id == "" {
		return
	}
	y.mu.Lock()
	defer y.mu.Unlock()
	y.ids[channelName(channel)] = id
}

// channelName is channel as a policy names it, without its #: Slack
// takes "#ops" and "ops" for one channel. An ID is left as it is.
func channelName(channel string) string {
	return strings.TrimPrefix(channel, "#")
}

// retryAt reports whether a sync that failed with err is tried again, and
// when: Slack throttled it (at its Retry-After) or failed, or the store
// was unavailable (after syncBackoff).
func (y *Sync) retryAt(err error) (time.Time, bool) {
	var se *Error
	switch {
	case errors.As(err, &se) && se.Retryable():
		if !se.Until.IsZero() {
			return se.Until, true
		}
	case errors.Is(err, klaxon.ErrUnavailable):
	default:
		return time.Time{}, false
	}
	return y.now().Add(syncBackoff), true
}

// next takes the change that waited longest of a channel not paused;
// when there is none, nil, and how long until a paused one that waits
// may go (0: none waits).
func (y *Sync) next() (*change, time.Duration) {
	y.mu.Lock()
	defer y.mu.Unlock()
	now := time.Now()
	if wait := y.all.Sub(now); wait > 0 {
		return nil, wait
	}
	var wait time.Duration
	for i := 0; i < len(y.order); {
		id := y.order[i]
		c := y.waiting[id] // order and waiting change together
		key := y.keyLocked(c)
		if until, paused := y.paused[key]; paused {
			if d := until.Sub(now); d > 0 {
				if wait == 0 || d < wait {
					wait = d
				}
				i++
				continue
			}
			delete(y.paused, key)
		}
		y.order = slices.Delete(y.order, i, i+1)
		delete(y.waiting, id)
		if y.counts[c.channel]--; y.counts[c.channel] == 0 {
			delete(y.counts, c.channel)
		}
		return c, 0
	}
	return nil, wait
}
