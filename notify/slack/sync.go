package slack

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/klaxonhq/klaxon"
)

// The channel message of an incident: posted when the incident first
// changes in a policy with a slack_channel, updated as it changes, with
// each event worth reading as a reply in its thread. It follows the
// commits that landed, off the paging path: Slack down or slow never
// delays a page. Changes wait per incident, the latest state winning,
// and wait again after a failure that may pass (a 429 for its
// Retry-After), so that a message catches up once Slack answers.

// Bounds of the sync: the incidents waiting at most (past it a change is
// dropped and logged), and the pause after a failure that says no
// Retry-After.
const (
	maxWaiting  = 10_000
	syncBackoff = 5 * time.Second
)

// Recorder records where an incident's message is: the escalation
// engine's SetChat, a commit of its own, which returns the incident as
// stored.
type Recorder interface {
	SetChat(ctx context.Context, id string, chat klaxon.Chat) (*klaxon.Incident, error)
}

// Reader reads an incident as stored: its message may have been posted
// by another replica, or before a restart.
type Reader interface {
	Incident(ctx context.Context, id string) (*klaxon.Incident, error)
}

// Sync keeps incidents' channel messages up to date.
type Sync struct {
	slack  *Slack
	record Recorder
	read   Reader
	log    *slog.Logger
	now    func() time.Time
	wake   chan struct{}

	mu      sync.Mutex
	waiting map[string]*klaxon.Incident // by ID: the latest header, the events not yet replied
	order   []string
}

// NewSync returns the sync of s's channel messages, reading incidents
// with read and recording each new message's place with record.
func NewSync(s *Slack, record Recorder, read Reader, log *slog.Logger) *Sync {
	return &Sync{slack: s, record: record, read: read, log: log.With("component", "slack"), now: s.now,
		wake: make(chan struct{}, 1), waiting: map[string]*klaxon.Incident{}}
}

// Committed takes the incidents a commit wrote, with the events it
// recorded, and queues those of a policy with a Slack channel. It never
// blocks.
func (y *Sync) Committed(incs []*klaxon.Incident) {
	queued := false
	y.mu.Lock()
	for _, inc := range incs {
		if inc.Policy.SlackChannel == "" || len(inc.Recorded) == 0 {
			continue
		}
		c := inc.Header()
		c.Recorded = append([]klaxon.Event(nil), inc.Recorded...)
		queued = y.enqueue(c) || queued
	}
	y.mu.Unlock()
	if queued {
		select {
		case y.wake <- struct{}{}:
		default:
		}
	}
}

// enqueue adds inc to the waiting ones, merged with a change of it that
// waits already; y.mu is held.
func (y *Sync) enqueue(inc *klaxon.Incident) bool {
	if prev, ok := y.waiting[inc.ID]; ok {
		inc.Recorded = append(prev.Recorded, inc.Recorded...)
		if inc.Chat == nil {
			inc.Chat = prev.Chat
		}
		y.waiting[inc.ID] = inc
		return true
	}
	if len(y.waiting) >= maxWaiting {
		y.log.Warn("slack update dropped: too many waiting", "incident", inc.ID)
		return false
	}
	y.waiting[inc.ID] = inc
	y.order = append(y.order, inc.ID)
	return true
}

// requeue puts back inc, whose sync failed, ahead of any later change of
// it: its events first, the later header.
func (y *Sync) requeue(inc *klaxon.Incident) {
	y.mu.Lock()
	defer y.mu.Unlock()
	if later, ok := y.waiting[inc.ID]; ok {
		later.Recorded = append(inc.Recorded, later.Recorded...)
		if later.Chat == nil {
			later.Chat = inc.Chat
		}
		return
	}
	y.waiting[inc.ID] = inc
	y.order = append([]string{inc.ID}, y.order...)
}

// Run sends the waiting changes to Slack until ctx ends.
func (y *Sync) Run(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-y.wake:
		}
		for {
			inc := y.next()
			if inc == nil {
				break
			}
			err := y.sync(ctx, inc)
			if err == nil {
				continue
			}
			y.log.Warn("slack", "incident", inc.ID, "err", err)
			var se *Error
			if !errors.As(err, &se) || !se.Retryable() {
				continue // Slack refused it for good: logged, let go
			}
			// Later, with what changes meanwhile; nothing is sent before.
			y.requeue(inc)
			until := se.Until
			if until.IsZero() {
				until = y.now().Add(syncBackoff)
			}
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(until.Sub(y.now())):
			}
		}
	}
}

// next takes the change that waited longest, nil when none waits.
func (y *Sync) next() *klaxon.Incident {
	y.mu.Lock()
	defer y.mu.Unlock()
	for len(y.order) > 0 {
		id := y.order[0]
		y.order = y.order[1:]
		if inc, ok := y.waiting[id]; ok {
			delete(y.waiting, id)
			return inc
		}
	}
	return nil
}

// sync brings incident inc's message up to date: posted when it has
// none (and is open), updated, and its new events replied in its thread.
func (y *Sync) sync(ctx context.Context, inc *klaxon.Incident) error {
	if inc.Chat == nil {
		stored, err := y.read.Incident(ctx, inc.ID)
		if err != nil {
			return err
		}
		inc.Chat = stored.Chat
		if inc.Chat == nil {
			if !stored.State.Open() {
				return nil // never posted, and over: nobody needs it now
			}
			chat, err := y.slack.Post(ctx, inc.Policy.SlackChannel, stored, stored.PagedUsers())
			if err != nil {
				return err
			}
			after, err := y.record.SetChat(ctx, inc.ID, chat)
			if err != nil {
				return err
			}
			inc.Chat = after.Chat // another replica's, if it recorded first
			// What changed while the post was on its way shows at once.
			if after.Chat != nil && *after.Chat == chat && after.State == stored.State && after.AckedBy == stored.AckedBy {
				return y.replies(ctx, inc)
			}
			recorded := inc.Recorded
			inc = after.Header()
			inc.Recorded = recorded
		}
	}
	if err := y.slack.Update(ctx, inc.Chat.Channel, inc.Chat.TS, inc, inc.PagedUsers()); err != nil {
		return err
	}
	return y.replies(ctx, inc)
}

// replies replies inc's recorded events worth reading in its message's
// thread, taking each off as it is sent.
func (y *Sync) replies(ctx context.Context, inc *klaxon.Incident) error {
	for len(inc.Recorded) > 0 {
		e := inc.Recorded[0]
		if threaded(e) {
			if err := y.slack.Reply(ctx, inc.Chat.Channel, inc.Chat.TS, EventText(e)); err != nil {
				return err
			}
		}
		inc.Recorded = inc.Recorded[1:]
	}
	return nil
}

// threaded reports whether e is worth a reply in the message's thread:
// what people did and what reached them, not every alert of a storm.
func threaded(e klaxon.Event) bool {
	if e.From != "" {
		return false // another incident's, copied by a merge
	}
	switch {
	case e.Kind == klaxon.EventAlertJoined, e.Kind == klaxon.EventAlertRefired, e.Kind == klaxon.EventAlertResolved,
		e.Kind == klaxon.EventAlertSilenced, e.Kind == klaxon.EventPageDelivered:
		return false
	case e.Kind == klaxon.EventPageFailed && e.How == klaxon.HowRetry:
		// A try that is tried again: during a provider's outage one a
		// page every backoff, more than a channel may take.
		return false
	}
	return true
}
