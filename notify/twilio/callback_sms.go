package twilio

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/klaxonhq/klaxon"
)

// sms takes an SMS reply: "42A" acknowledges incident 42, "A" the latest
// page to this number, "AA" every open incident paged to it. A reply
// that names no incident acts only on pages that went out before Klaxon
// received it: an incident that paged the person later is left alone.
// Only a user's own number can act.
func (c *Callbacks) sms(w http.ResponseWriter, r *http.Request) {
	received := c.o.Now()
	auth, form, ok := c.form(w, r)
	if !ok {
		return
	}
	answer := c.twimlTo(w, r)
	first, ok := c.firstTime(w, r, "sms:"+signedKey(r, auth.PublicURL), callbackMemory)
	if !ok {
		return
	}
	if !first {
		answer(emptyTwiML, nil) // acted on already: no second act, no second answer
		return
	}
	text := c.smsReply(r.Context(), form.Get("From"), form.Get("Body"), received)
	if text == "" {
		answer(emptyTwiML, nil)
		return
	}
	answer(SMSReply(cutUnits(text, MaxAnswer)))
}

// smsReply acts on an SMS from phone, received at received, and returns
// the answer ("" for none).
func (c *Callbacks) smsReply(ctx context.Context, phone, body string, received time.Time) string {
	u, ok := c.o.Phonebook.UserByPhone(phone)
	if !ok {
		c.log.WarnContext(ctx, "sms from an unknown number", "from", MaskPhone(phone))
		return "This number is not a Klaxon user's: nothing was done."
	}
	reply, err := ParseReply(body)
	if err != nil {
		return err.Error()
	}
	switch reply.Keyword {
	case KeywordStop, KeywordStart:
		// Twilio blocks and unblocks the number itself, and answers.
		c.log.InfoContext(ctx, "sms keyword", "user", u.ID, "keyword", reply.Word)
		return ""
	case KeywordHelp:
		return ReplyHelp
	}
	var targets []*klaxon.Incident
	if reply.Incident != "" {
		// Named: that incident alone is read, not every open one paged to
		// the person (a storm's hundreds). It may be one that paged them
		// after this reply came: they know of it.
		switch inc, ok := c.paged(ctx, reply.Incident, u.ID); {
		case ok && inc.State == klaxon.StateResolved:
			return fmt.Sprintf("#%s is %s already (%s): nothing was done.", inc.ID, inc.State, describe(inc))
		case ok:
			targets = []*klaxon.Incident{inc}
		}
	}
	var paged, later []*klaxon.Incident
	if len(targets) == 0 {
		paged, later, err = c.o.Responder.PagedTo(ctx, u.ID, received)
		if err != nil {
			c.log.ErrorContext(ctx, "sms reply", "user", u.ID, "err", err)
			return "Klaxon could not read your incidents; try again."
		}
	}
	switch {
	case len(targets) > 0:
	case reply.All:
		targets = paged
	case reply.Incident == "" && len(paged) > 0:
		targets = paged[:1]
	case reply.Incident != "":
		// Not read above (no reader, or the read failed): found among
		// those paged.
		all := append(slices.Clone(paged), later...)
		if i := slices.IndexFunc(all, func(inc *klaxon.Incident) bool { return inc.ID == reply.Incident }); i >= 0 {
			targets = all[i : i+1]
		}
	}
	if len(targets) == 0 {
		if reply.Incident == "" && len(later) > 0 {
			return "Nothing was done: no incident had paged you when this reply came; " + openList(later)
		}
		return "Unknown code " + strings.TrimSpace(body) + ": " + openList(append(paged, later...))
	}
	o := outcome{done: reply.Action.Done(), about: map[string]string{}}
	if reply.Note != "" {
		o.done = "Noted on"
	}
	for _, inc := range targets {
		who := klaxon.Actor{By: u.ID, How: "sms"}
		if reply.Note != "" {
			if _, err := c.o.Responder.Note(ctx, inc.ID, reply.Note, false, who); err != nil {
				o.failed = append(o.failed, fmt.Sprintf("#%s not noted: %s", inc.ID, c.actFailure(u.ID, inc.ID, err)))
				continue
			}
			o.ok, o.about[inc.ID] = append(o.ok, inc.ID), describe(inc)
			continue
		}
		got, err := c.o.Responder.Act(ctx, reply.Action, inc.ID, who)
		if err != nil {
			o.failed = append(o.failed, fmt.Sprintf("#%s not changed: %s", inc.ID, c.actFailure(u.ID, inc.ID, err)))
			continue
		}
		o.ok, o.about[got.ID] = append(o.ok, got.ID), describe(got)
	}
	if reply.All {
		for _, inc := range later {
			o.later = append(o.later, inc.ID)
		}
	}
	return o.text()
}

// paged reads incident id, when it paged user, as Responder.PagedTo
// counts it: a page to them went out, or waits in its outbox while the
// incident is open. An incident that did not page user stays unknown to
// them.
func (c *Callbacks) paged(ctx context.Context, id, user string) (*klaxon.Incident, bool) {
	if c.o.Incidents == nil {
		return nil, false
	}
	inc, err := c.o.Incidents.Incident(ctx, id)
	if err != nil {
		return nil, false
	}
	went := slices.ContainsFunc(inc.Sent, func(s klaxon.Sent) bool { return s.User == user && !s.At.IsZero() })
	waits := slices.ContainsFunc(inc.Pending, func(n klaxon.Notification) bool { return n.User == user })
	return inc, went || (waits && inc.State != klaxon.StateResolved)
}

// actFailure says to a responder's phone why an act on incident id
// failed. A refusal says what it is ("it is resolved"); a failure of
// Klaxon's own (the store cannot write) is logged, and the phone is told
// only to try again: its text is for the log, not for a caller or an SMS.
func (c *Callbacks) actFailure(user, id string, err error) string {
	if status(err) >= http.StatusInternalServerError {
		c.log.Error("act from the phone", "user", user, "incident", id, "err", err)
		return "Klaxon could not record it; try again"
	}
	var conflict *klaxon.ConflictError
	if errors.As(err, &conflict) {
		return conflict.Msg // the message names the incident already
	}
	return err.Error()
}

// describe is an incident's short description: "payments: 5xx ratio
// above 5%".
func describe(inc *klaxon.Incident) string {
	what := inc.Labels["service"]
	if what == "" {
		what = inc.Policy.Name
	}
	return what + ": " + inc.Summary
}

// openList names the open incidents paged to a person, the first
// maxListed of them: "your open incidents are 4, 7."
func openList(paged []*klaxon.Incident) string {
	if len(paged) == 0 {
		return "you have no open incidents."
	}
	var ids []string
	for _, inc := range paged[:min(len(paged), maxListed)] {
		ids = append(ids, inc.ID)
	}
	if more := len(paged) - len(ids); more > 0 {
		ids = append(ids, fmt.Sprintf("and %d more", more))
	}
	return "your open incidents are " + strings.Join(ids, ", ") + "."
}

// maxListed bounds the incidents an answer lists by name.
const maxListed = 20
