package slack

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

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
// throttles that person's DMs or the opening of theirs, is a
// *klaxon.DeferredError: it is tried again at Slack's pace (see
// direct.go). A user without a Slack ID is an error matching
// klaxon.ErrInvalid; the other errors are *Error.
func (s *Slack) Send(ctx context.Context, p klaxon.Page) error {
	var id string
	ok := false
	if s.slackID != nil {
		id, ok = s.slackID(p.User.ID)
	}
	if !ok || id == "" {
		return klaxon.Invalid("slack", "user %s has no Slack ID", p.User.ID)
	}
	var h *holder // a test page is not tried again
	if !p.Test {
		h = &holder{page: klaxon.PageRef{Incident: p.Incident, Notification: p.Notification}}
	}
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	text, blocks := PageMessage(p, s.publicURL)
	for {
		dm, kept, err := s.dmWith(parent, ctx, id, h)
		if err != nil {
			var later *klaxon.DeferredError
			if errors.As(err, &later) {
				return later
			}
			return fmt.Errorf("open a direct message with %s: %w", p.User.ID, err)
		}
		at, held, err := s.wait(parent, ctx, dm, h)
		if err != nil {
			return fmt.Errorf("page %s by direct message: %w", p.User.ID, err)
		}
		if held {
			return &klaxon.DeferredError{Until: at}
		}
		err = s.callFor(parent, ctx, "chat.postMessage", func(ctx context.Context, api *slackapi.Client) error {
			_, _, err := api.PostMessageContext(ctx, dm, slackapi.MsgOptionText(text, false),
				slackapi.MsgOptionBlocks(blocks...), slackapi.MsgOptionDisableLinkUnfurl())
			return err
		})
		if err == nil {
			return nil
		}
		if wait, ok := throttled(err); ok {
			return &klaxon.DeferredError{Until: s.direct.limited(dm, h, s.now(), wait)}
		}
		if kept && gone(err) {
			s.direct.forget(id, dm) // opened again, once
			continue
		}
		return fmt.Errorf("page %s by direct message: %w", p.User.ID, err)
	}
}

// dmWith returns the DM channel with Slack user id: kept (opened
// before), or opened now, by this page or by another page to the same
// person whose open it waits for. A page that conversations.open's gate
// holds back is a *klaxon.DeferredError to the person's time, the same
// for all their pages: page (nil: a test page) waits for it.
func (s *Slack) dmWith(parent, ctx context.Context, id string, page *holder) (dm string, kept bool, err error) {
	h := holder{user: id}
	if page != nil {
		h.page = page.page
	}
	for {
		dm, o, mine := s.direct.opener(id)
		switch {
		case o == nil:
			return dm, true, nil
		case !mine:
			select {
			case <-o.done:
			case <-ctx.Done():
				return "", false, classify(parent, "conversations.open", ctx.Err(), 0, "", s.now())
			}
			if o.dm == "" && o.err == nil {
				continue // its page gave up: open it for this one
			}
			var later *klaxon.DeferredError
			if errors.As(o.err, &later) {
				s.direct.waitOpen(h)
			}
			return o.dm, false, o.err
		}
		dm, err := s.openGated(parent, ctx, h)
		if err != nil && parent.Err() != nil {
			s.direct.opened(id, o, "", nil) // this page gave up, not Slack
		} else {
			s.direct.opened(id, o, dm, err)
		}
		return dm, false, err
	}
}

// openGated opens the DM with Slack user h.user, unless
// conversations.open's gate holds it back.
func (s *Slack) openGated(parent, ctx context.Context, h holder) (string, error) {
	at, held, err := s.wait(parent, ctx, openGate, &h)
	switch {
	case err != nil:
		return "", err
	case held:
		return "", &klaxon.DeferredError{Until: at}
	}
	dm, err := s.open(parent, ctx, h.user)
	if wait, ok := throttled(err); ok {
		return "", &klaxon.DeferredError{Until: s.direct.limited(openGate, &h, s.now(), wait)}
	}
	return dm, err
}

// wait reports whether h waits before a call through gate key (see
// directs.hold), and until when. When the pages holding the gate's
// times may have been withdrawn, it asks whether they are still wanted
// first, or waits for the page that asks.
func (s *Slack) wait(parent, ctx context.Context, key string, h *holder) (time.Time, bool, error) {
	for {
		at, held, a := s.direct.hold(key, h, s.now())
		switch {
		case a == nil:
			return at, held, nil
		case a.mine:
			s.direct.withdraw(key, a, s.unwanted(ctx, a.pages))
			continue
		}
		select {
		case <-a.done:
		case <-ctx.Done():
			method := "chat.postMessage"
			if key == openGate {
				method = openGate
			}
			return time.Time{}, false, classify(parent, method, ctx.Err(), 0, "", s.now())
		}
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
