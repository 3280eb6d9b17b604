package slack

import (
	"context"
	"log/slog"

	"github.com/klaxonhq/klaxon"
)

// The channel message of an incident: posted when the incident opens in
// a policy with a slack_channel, updated as it changes, with each event
// worth reading as a reply in its thread. Like status updates, it
// follows the commits that landed, best effort, off the paging path:
// Slack down or slow never delays a page.

// syncQueue bounds the changes waiting for Slack; past it they are
// dropped and logged.
const syncQueue = 1024

// Recorder records where an incident's message is: the escalation
// engine's SetChat, a commit of its own.
type Recorder interface {
	SetChat(ctx context.Context, id string, chat klaxon.Chat) (*klaxon.Incident, error)
}

// Sync keeps incidents' channel messages up to date.
type Sync struct {
	slack  *Slack
	record Recorder
	log    *slog.Logger
	queue  chan *klaxon.Incident
}

// NewSync returns the sync of s's channel messages, recording each new
// message's place with record.
func NewSync(s *Slack, record Recorder, log *slog.Logger) *Sync {
	return &Sync{slack: s, record: record, log: log.With("component", "slack"), queue: make(chan *klaxon.Incident, syncQueue)}
}

// Committed takes the incidents a commit wrote, with the events it
// recorded, and queues those of a policy with a Slack channel. It never
// blocks.
func (y *Sync) Committed(incs []*klaxon.Incident) {
	for _, inc := range incs {
		if inc.Policy.SlackChannel == "" || (len(inc.Recorded) == 0 && inc.Chat == nil) {
			continue
		}
		c := inc.Header()
		c.Recorded = append([]klaxon.Event(nil), inc.Recorded...)
		select {
		case y.queue <- c:
		default:
			y.log.Warn("slack update dropped: too many waiting", "incident", inc.ID)
		}
	}
}

// Run sends the queued changes to Slack until ctx ends.
func (y *Sync) Run(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case inc := <-y.queue:
			if err := y.sync(ctx, inc); err != nil {
				y.log.Warn("slack", "incident", inc.ID, "err", err)
			}
		}
	}
}

// sync posts the message of an incident that opened, or updates the
// message of one that has one and replies with its new events.
func (y *Sync) sync(ctx context.Context, inc *klaxon.Incident) error {
	paged := inc.PagedUsers()
	if inc.Chat == nil {
		if !opened(inc) {
			return nil // changes before its message was recorded: the post shows them
		}
		ts, err := y.slack.Post(ctx, inc.Policy.SlackChannel, inc, paged)
		if err != nil {
			return err
		}
		_, err = y.record.SetChat(ctx, inc.ID, klaxon.Chat{Channel: inc.Policy.SlackChannel, TS: ts})
		return err
	}
	if len(inc.Recorded) == 0 {
		return nil
	}
	if err := y.slack.Update(ctx, inc.Chat.Channel, inc.Chat.TS, inc, paged); err != nil {
		return err
	}
	for _, e := range inc.Recorded {
		if !threaded(e) {
			continue
		}
		if err := y.slack.Reply(ctx, inc.Chat.Channel, inc.Chat.TS, EventText(e)); err != nil {
			return err
		}
	}
	return nil
}

// opened reports whether inc's recorded events open it.
func opened(inc *klaxon.Incident) bool {
	for _, e := range inc.Recorded {
		if e.Kind == klaxon.EventTriggered && e.Alert != "" {
			return true
		}
	}
	return false
}

// threaded reports whether e is worth a reply in the message's thread:
// what people did and what reached them, not every alert of a storm.
func threaded(e klaxon.Event) bool {
	if e.From != "" {
		return false // another incident's, copied by a merge
	}
	switch e.Kind {
	case klaxon.EventAlertJoined, klaxon.EventAlertRefired, klaxon.EventAlertResolved, klaxon.EventAlertSilenced, klaxon.EventPageDelivered:
		return false
	}
	return true
}
