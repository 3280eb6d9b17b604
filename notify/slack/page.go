package slack

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	slackapi "github.com/slack-go/slack"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/notify"
	"github.com/klaxonhq/klaxon/notify/webhook"
)

var _ notify.Channel = (*Slack)(nil)

// Send pages p.User by direct message from the bot: it opens the
// conversation with the user's Slack ID (Options.SlackID), once, then
// posts PageMessage. Both calls together take at most the Slack's
// timeout. A page that Slack throttles (429), or that comes while it
// throttles that person's DMs, is a *klaxon.DeferredError: it is tried
// again at Slack's pace (see direct.go). A user without a Slack ID is an
// error matching klaxon.ErrInvalid; the other errors are *Error.
func (s *Slack) Send(ctx context.Context, p klaxon.Page) error {
	var id string
	ok := false
	if s.slackID != nil {
		id, ok = s.slackID(p.User.ID)
	}
	if !ok || id == "" {
		return klaxon.Invalid("slack", "user %s has no Slack ID", p.User.ID)
	}
	var ref *klaxon.PageRef // a test page is not tried again
	if !p.Test {
		ref = &klaxon.PageRef{Incident: p.Incident, Notification: p.Notification}
	}
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	text, blocks := PageMessage(p, s.publicURL)
	for {
		dm, kept := s.direct.dm(id)
		if !kept {
			if at, held := s.direct.hold(openGate, ref, s.now()); held {
				return &klaxon.DeferredError{Until: at}
			}
			var err error
			if dm, err = s.open(parent, ctx, id); err != nil {
				if wait, ok := throttled(err); ok {
					return &klaxon.DeferredError{Until: s.direct.limited(openGate, ref, s.now(), wait)}
				}
				return fmt.Errorf("open a direct message with %s: %w", p.User.ID, err)
			}
			s.direct.keep(id, dm)
		}
		if at, held := s.direct.hold(dm, ref, s.now()); held {
			return &klaxon.DeferredError{Until: at}
		}
		err := s.callFor(parent, ctx, "chat.postMessage", func(ctx context.Context, api *slackapi.Client) error {
			_, _, err := api.PostMessageContext(ctx, dm, slackapi.MsgOptionText(text, false),
				slackapi.MsgOptionBlocks(blocks...), slackapi.MsgOptionDisableLinkUnfurl())
			return err
		})
		if err == nil {
			return nil
		}
		if wait, ok := throttled(err); ok {
			return &klaxon.DeferredError{Until: s.direct.limited(dm, ref, s.now(), wait)}
		}
		if kept && gone(err) {
			s.direct.forget(id, dm) // opened again, once
			continue
		}
		return fmt.Errorf("page %s by direct message: %w", p.User.ID, err)
	}
}

// open opens the DM with Slack user id, and returns its channel's ID.
func (s *Slack) open(parent, ctx context.Context, id string) (string, error) {
	var dm string
	err := s.callFor(parent, ctx, "conversations.open", func(ctx context.Context, api *slackapi.Client) error {
		ch, _, _, err := api.OpenConversationContext(ctx, &slackapi.OpenConversationParameters{Users: []string{id}, ReturnIM: true})
		if ch != nil {
			dm = ch.ID
		}
		return err
	})
	if err == nil && dm == "" {
		err = &Error{Method: "conversations.open", Status: 200, Code: "no_channel"}
	}
	return dm, err
}

// PageMessage is the direct message of page p: the Slack message that
// Klaxon's Slack webhooks send (webhook.NewSlackMessage), followed by the
// buttons Acknowledge, Resolve and Escalate of p's incident. A test page
// says only that pages by Slack arrive; a bundle of pages (p.Bundle > 0)
// is its text, with no buttons, as it stands for several incidents.
func PageMessage(p klaxon.Page, publicURL string) (text string, blocks []slackapi.Block) {
	if p.Test {
		text = klaxon.TestText(Via)
		return text, []slackapi.Block{slackapi.NewSectionBlock(mrkdwn(clip(text, maxText)), nil, nil)}
	}
	if p.Bundle > 0 {
		// The bundle's text ends in how to answer by SMS, which does not
		// apply here.
		text, _, _ = strings.Cut(p.Text, ". Reply ")
		text = clip(text, maxSummary) + ". Acknowledge each from its message, or with `/klaxon ack ID`."
		return text, []slackapi.Block{slackapi.NewSectionBlock(mrkdwn(text), nil, nil)}
	}
	msg := webhook.NewSlackMessage(p, publicURL)
	blocks = convert(msg.Blocks)
	if p.Update != "" {
		return cut(msg.Text, maxText), blocks // a status update asks for no act
	}
	return cut(msg.Text, maxText), append(blocks, buttons(p.Incident, "n"+strconv.Itoa(p.Notification), true))
}

// convert turns the section and context blocks of a webhook's Slack
// message into slack-go's.
func convert(in []webhook.SlackBlock) []slackapi.Block {
	text := func(t webhook.SlackText) *slackapi.TextBlockObject {
		return slackapi.NewTextBlockObject(t.Type, t.Text, false, false)
	}
	var out []slackapi.Block
	for _, b := range in {
		switch {
		case b.Type == "section" && b.Text != nil:
			out = append(out, slackapi.NewSectionBlock(text(*b.Text), nil, nil))
		case b.Type == "context":
			elems := make([]slackapi.MixedElement, len(b.Elements))
			for i, e := range b.Elements {
				elems[i] = text(e)
			}
			out = append(out, slackapi.NewContextBlock("", elems...))
		}
	}
	return out
}
