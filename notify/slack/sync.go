package slack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/klaxonhq/klaxon"
)

// The channel message of an incident: posted when the incident first
// changes in a policy with a slack_channel, updated as it changes, with
// each event worth reading as a reply in its thread. It follows the
// commits that landed, off the paging path: Slack down or slow never
// delays a page. Changes wait per incident, their events merged, and
// wait again after a failure that may pass (a 429 for its Retry-After,
// the store unavailable), so that a message catches up once Slack
// answers. A message always shows the incident as the store holds it
// when it is sent, never the header of the commit that queued it: a
// change handled late (a walk commit queued before an ack, a replica's
// backed-up sync) would put back a state that has passed.

// Bounds of the sync: the incidents waiting at most in one channel (past
// it a change of that channel is dropped and logged: one channel's storm
// fills no other's room), and the pause after a failure that says no
// Retry-After.
const (
	maxWaiting  = 10_000
	syncBackoff = 5 * time.Second
)

// Recorder records where an incident's message is: the escalation
// engine's SetChat, a commit of its own that records the first message
// only, which returns the incident as stored.
type Recorder interface {
	SetChat(ctx context.Context, id string, chat klaxon.Chat) (*klaxon.Incident, error)
}

// Reader reads an incident as stored: what its message shows, and where
// it is (it may have been posted by another replica, or before a
// restart).
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
	waiting map[string]*change // by incident ID
	order   []string
	// paused holds a channel's changes back until Slack takes its calls
	// again (a 429's Retry-After), by the channel's ID as Slack keys its
	// limits (see key); all holds every change back (the store
	// unavailable). Slack limits posts per channel: one channel's storm
	// holds back no other's messages. Times of the process's own clock
	// (time.Now), as a wait is.
	paused map[string]time.Time
	all    time.Time
	// ids are the channels' IDs by the names a policy gave them ("ops"
	// for "#ops" and "ops"), as Slack answered a post to them.
	ids map[string]string
	// counts are the incidents waiting, by channel as configured.
	counts map[string]int

	// posted are the messages this sync posted and does not yet know
	// recorded, by incident ID: Run's own.
	posted map[string]klaxon.Chat

	// messages counts the changes synced, by result (syncResults).
	messages *prometheus.CounterVec
}

// The results klaxon_slack_messages_total counts: a change of an
// incident's message sent to Slack, refused for good (failed), put off
// after a failure that may pass (retried), or dropped, too many waiting.
var syncResults = []string{"sent", "failed", "retried", "dropped"}

// change is what waits of an incident: the events not yet replied, its
// policy's channel, and the ID of the channel its message is in, once
// known. Not its state, which is read when it is sent.
type change struct {
	id, channel string
	chat        string
	events      []klaxon.Event
}

// chatOf is the channel ID of inc's message; "" before it has one.
func chatOf(inc *klaxon.Incident) string {
	if inc.Chat == nil {
		return ""
	}
	return inc.Chat.Channel
}

// at notes where stored's message is, once it has one: c's calls go
// there.
func (c *change) at(stored *klaxon.Incident) {
	if ch := chatOf(stored); ch != "" {
		c.chat = ch
	}
}

// NewSync returns the sync of s's channel messages, reading incidents
// with read and recording each new message's place with record.
// Its metrics are registered with reg; nil for none.
func NewSync(s *Slack, record Recorder, read Reader, log *slog.Logger, reg prometheus.Registerer) *Sync {
	y := &Sync{slack: s, record: record, read: read, log: log.With("component", "slack"), now: s.now,
		wake: make(chan struct{}, 1), waiting: map[string]*change{}, posted: map[string]klaxon.Chat{}, paused: map[string]time.Time{}, ids: map[string]string{}, counts: map[string]int{},
		messages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "klaxon_slack_messages_total",
			Help: "Changes of incidents' Slack channel messages, by result: sent, failed (refused for good), retried (put off after a failure that may pass), dropped (too many waiting).",
		}, []string{"result"})}
	for _, r := range syncResults {
		y.messages.WithLabelValues(r)
	}
	if reg != nil {
		reg.MustRegister(y.messages, prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "klaxon_slack_messages_waiting",
			Help: "Incidents whose Slack channel message waits to be brought up to date.",
		}, func() float64 {
			y.mu.Lock()
			defer y.mu.Unlock()
			return float64(len(y.waiting))
		}))
	}
	return y
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
		// Only the events a thread shows: a storm's incident records an
		// event an alert, which would wait here as long as Slack does.
		c := &change{id: inc.ID, channel: inc.Policy.SlackChannel, chat: chatOf(inc)}
		for _, e := range inc.Recorded {
			if threaded(e) {
				c.events = append(c.events, e)
			}
		}
		queued = y.enqueue(c) || queued
	}
	y.mu.Unlock()
	if queued {
		y.poke()
	}
}

// Unsure takes the incidents of a commit that failed and may have landed
// all the same (its reply was lost), and queues those of a policy with a
// Slack channel: their messages are brought up to date with the store,
// once it answers. Not the commit's events, which may not have happened:
// a retry that finds the change made commits nothing, so without this a
// message could show an acknowledged or resolved incident as triggered,
// with its Acknowledge button, until it next changed. It never blocks.
func (y *Sync) Unsure(incs []*klaxon.Incident) {
	queued := false
	y.mu.Lock()
	for _, inc := range incs {
		if inc.Policy.SlackChannel != "" {
			queued = y.enqueue(&change{id: inc.ID, channel: inc.Policy.SlackChannel, chat: chatOf(inc)}) || queued
		}
	}
	y.mu.Unlock()
	if queued {
		y.poke()
	}
}

// poke wakes Run, unless word of a change waits already.
func (y *Sync) poke() {
	select {
	case y.wake <- struct{}{}:
	default:
	}
}

// enqueue adds c to the waiting changes, merged with one of its incident
// that waits already; y.mu is held.
func (y *Sync) enqueue(c *change) bool {
	if prev, ok := y.waiting[c.id]; ok {
		prev.events = append(prev.events, c.events...)
		if prev.chat == "" {
			prev.chat = c.chat
		}
		return true
	}
	if y.counts[c.channel] >= maxWaiting {
		y.log.Warn("slack update dropped: too many waiting in its channel", "incident", c.id, "channel", c.channel)
		y.messages.WithLabelValues("dropped").Inc()
		return false
	}
	y.waiting[c.id] = c
	y.counts[c.channel]++
	y.order = append(y.order, c.id)
	return true
}

// requeue puts back c, whose sync failed, ahead of any later change of
// its incident: its events first.
func (y *Sync) requeue(c *change) {
	y.mu.Lock()
	defer y.mu.Unlock()
	if later, ok := y.waiting[c.id]; ok {
		later.events = append(c.events, later.events...)
		if later.chat == "" {
			later.chat = c.chat
		}
		return
	}
	y.waiting[c.id] = c
	y.counts[c.channel]++
	y.order = append([]string{c.id}, y.order...)
}

// Run sends the waiting changes to Slack until ctx ends.
func (y *Sync) Run(ctx context.Context) error {
	for {
		c, wait := y.next()
		if c == nil {
			if !y.idle(ctx, wait) {
				return nil
			}
			continue
		}
		err := y.sync(ctx, c)
		if err == nil {
			y.messages.WithLabelValues("sent").Inc()
			continue
		}
		y.log.Warn("slack", "incident", c.id, "err", err)
		until, ok := y.retryAt(err)
		if !ok {
			y.messages.WithLabelValues("failed").Inc()
			continue // refused for good: logged, let go
		}
		y.messages.WithLabelValues("retried").Inc()
		// Later, with what changes meanwhile; nothing is sent to its
		// channel before (to any, when the store is unavailable).
		y.requeue(c)
		y.pause(y.key(c), until.Sub(y.now()), errors.Is(err, klaxon.ErrUnavailable))
		if ctx.Err() != nil {
			return nil
		}
	}
}

// idle waits for a change to come, or for wait (a paused channel's
// changes may go then; 0: no limit), and reports whether ctx is still
// going on.
func (y *Sync) idle(ctx context.Context, wait time.Duration) bool {
	var later <-chan time.Time
	if wait > 0 {
		t := time.NewTimer(wait)
		defer t.Stop()
		later = t.C
	}
	select {
	case <-ctx.Done():
		return false
	case <-y.wake:
	case <-later:
	}
	return true
}

// sync brings c's incident's message up to date with the incident as
// stored now: posted when it has none (and is open), or updated; then
// c's events are replied in its thread, each taken off c as it is sent.
func (y *Sync) sync(ctx context.Context, c *change) error {
	stored, err := y.read.Incident(ctx, c.id)
	if err != nil {
		// Not the state of the commits that queued c instead: it may be
		// older than what the message shows. The events wait, and an
		// unavailable store is read again (retryAt).
		return fmt.Errorf("read incident %s: %w", c.id, err)
	}
	c.at(stored)
	if stored, err = y.settle(ctx, stored); err != nil {
		return err
	}
	c.at(stored)
	fresh := false // the message was just posted as stored shows it
	if stored.Chat == nil {
		if !stored.State.Open() {
			return nil // never posted, and over: nobody needs it now
		}
		chat, err := y.slack.Post(ctx, c.channel, stored, stored.PagedUsers())
		if err != nil {
			return err
		}
		y.posted[c.id] = chat
		y.learn(c.channel, chat.Channel)
		shown := stored
		if stored, err = y.settle(ctx, stored); err != nil {
			return err
		}
		c.at(stored)
		// Another replica's message, or what changed while the post was
		// on its way, shows at once.
		fresh = *stored.Chat == chat && y.same(shown, stored)
	}
	if !fresh {
		if err := y.slack.Update(ctx, stored.Chat.Channel, stored.Chat.TS, stored, stored.PagedUsers()); err != nil {
			return err
		}
		y.recheck(ctx, c, stored)
	}
	return y.replies(ctx, *stored.Chat, c)
}

// settle finds out what became of the message this sync posted for
// stored's incident, if any, not yet known recorded, and returns the
// incident as stored then. The message is recorded unless the store
// holds one already; when that is another replica's, recorded first,
// this one is deleted, so that the channel shows one message per
// incident. A message whose recording or deletion failed is settled at
// the next sync of its incident: it is never posted twice.
func (y *Sync) settle(ctx context.Context, stored *klaxon.Incident) (*klaxon.Incident, error) {
	chat, ok := y.posted[stored.ID]
	if !ok {
		return stored, nil
	}
	if stored.Chat == nil {
		after, err := y.record.SetChat(ctx, stored.ID, chat)
		if err != nil {
			return nil, fmt.Errorf("record the message of incident %s: %w", stored.ID, err)
		}
		if after.Chat == nil {
			return nil, fmt.Errorf("record the message of incident %s: none recorded", stored.ID)
		}
		stored = after
	}
	if *stored.Chat != chat {
		err := y.slack.Delete(ctx, chat.Channel, chat.TS)
		var se *Error
		if errors.As(err, &se) && se.Retryable() {
			return nil, err
		}
		if err != nil {
			// Refused for good (gone already, or not the bot's): it
			// stays, unlike the recorded one, which is kept up to date.
			y.log.Warn("slack message left", "incident", stored.ID, "channel", chat.Channel, "err", err)
		}
	}
	delete(y.posted, stored.ID)
	return stored, nil
}

// recheck reads c's incident again once its message was updated to show
// shown. Another replica's sync may have updated it, to a commit that
// landed after shown was read, before this update overwrote it; nothing
// else would correct it until the incident changes again. When the
// incident no longer shows as shown, a change of it without events is
// queued, merged with any that waits. A read that fails leaves it.
func (y *Sync) recheck(ctx context.Context, c *change, shown *klaxon.Incident) {
	now, err := y.read.Incident(ctx, c.id)
	if err != nil || y.same(now, shown) {
		return
	}
	y.mu.Lock()
	defer y.mu.Unlock()
	y.enqueue(&change{id: c.id, channel: c.channel})
}

// same reports whether incidents a and b show the same message.
func (y *Sync) same(a, b *klaxon.Incident) bool {
	at, ab := IncidentMessage(a, a.PagedUsers(), y.slack.publicURL)
	bt, bb := IncidentMessage(b, b.PagedUsers(), y.slack.publicURL)
	return at == bt && reflect.DeepEqual(ab, bb)
}

// replies replies c's events worth reading in the thread of chat,
// taking each off as it is sent.
func (y *Sync) replies(ctx context.Context, chat klaxon.Chat, c *change) error {
	for len(c.events) > 0 {
		e := c.events[0]
		if threaded(e) {
			if err := y.slack.Reply(ctx, chat.Channel, chat.TS, EventText(e)); err != nil {
				return err
			}
		}
		c.events = c.events[1:]
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
		e.Kind == klaxon.EventAlertSilenced, e.Kind == klaxon.EventPageDelivered,
		e.Kind == klaxon.EventPageDeferred, // held back to keep to a limit, Slack's too
		e.Again():                          // acknowledged again: the thread said it was
		return false
	case e.Kind == klaxon.EventPageFailed && e.How == klaxon.HowRetry:
		// A try that is tried again: during a provider's outage one a
		// page every backoff, more than a channel may take.
		return false
	}
	return true
}
