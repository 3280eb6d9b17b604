package api

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/notify/twilio"
)

// TwilioAuth is what checks Twilio's callbacks: the account's auth token
// and Klaxon's public URL, which Twilio signs.
type TwilioAuth struct {
	AuthToken string
	PublicURL string
}

// Phonebook finds the user a phone number belongs to.
type Phonebook interface {
	UserByPhone(phone string) (klaxon.User, bool)
}

// Callbacks remembers the Twilio callbacks acted on, durably and across
// replicas, so that a callback delivered again (a replay of a signed
// request, or Twilio's own retry) acts once. (A mail link's use is kept
// on its incident instead: see Actor.Once.)
type Callbacks interface {
	FirstTime(ctx context.Context, key string, now time.Time, ttl time.Duration) (bool, error)
}

// callbackMemory is how long a callback is remembered: Twilio's
// signature has no timestamp, so a replay is refused for this long.
const callbackMemory = 48 * time.Hour

// firstTime reports whether the callback key is acted on for the first
// time; on an error it answers 503 (Twilio retries) and reports false.
func (s *Server) firstTime(w http.ResponseWriter, r *http.Request, key string) (first, ok bool) {
	if s.o.Callbacks == nil {
		return true, true
	}
	first, err := s.o.Callbacks.FirstTime(r.Context(), key, s.o.Now(), callbackMemory)
	if err != nil {
		writeError(w, s.log, fmt.Errorf("twilio callback: %w", err))
		return false, false
	}
	if !first {
		s.log.Warn("twilio callback delivered again; not acted on", "callback", key)
	}
	return first, true
}

func (s *Server) twilioRoutes() {
	s.handle(GroupTwilio, "POST "+twilio.SMSPath, s.twilioSMS)
	s.handle(GroupTwilio, "POST "+twilio.VoicePath, s.twilioVoice)
	s.handle(GroupTwilio, "POST "+twilio.StatusPath, s.twilioStatus)
}

// twilioForm checks a callback's signature and returns its form. A
// callback that is not signed as Twilio signs it gets 403 and changes
// nothing.
func (s *Server) twilioForm(w http.ResponseWriter, r *http.Request) (url.Values, bool) {
	var auth *TwilioAuth
	if s.o.Twilio != nil {
		auth = s.o.Twilio()
	}
	if auth == nil {
		writeError(w, s.log, errorf(http.StatusNotFound, "Twilio is not configured (notify.twilio)"))
		return nil, false
	}
	form, err := twilio.Validate(r, auth.PublicURL, auth.AuthToken)
	if err != nil {
		if errors.Is(err, klaxon.ErrUnauthorized) {
			s.log.Warn("twilio callback refused", "path", r.URL.Path, "err", err)
			err = errorf(http.StatusForbidden, "%v", err)
		}
		writeError(w, s.log, err)
		return nil, false
	}
	return form, true
}

// emptyTwiML answers a callback with nothing to say or play.
const emptyTwiML = `<?xml version="1.0" encoding="UTF-8"?><Response></Response>`

// twimlTo returns a function that answers with the TwiML a twilio
// builder returns, or with nothing when it failed.
func (s *Server) twimlTo(w http.ResponseWriter) func(string, error) {
	return func(twiml string, err error) {
		if err != nil {
			s.log.Error("render twiml", "err", err)
			twiml = emptyTwiML
		}
		w.Header().Set("Content-Type", "text/xml; charset=utf-8")
		_, _ = w.Write([]byte(twiml))
	}
}

// twilioSMS takes an SMS reply: "42A" acknowledges incident 42, "A" the
// latest page to this number, "AA" every open incident paged to it. A
// reply that names no incident acts only on pages that went out before
// Klaxon received it: an incident that paged the person later is left
// alone. Only a user's own number can act.
func (s *Server) twilioSMS(w http.ResponseWriter, r *http.Request) {
	received := s.o.Now()
	form, ok := s.twilioForm(w, r)
	if !ok {
		return
	}
	if sid := form.Get("MessageSid"); sid != "" {
		first, ok := s.firstTime(w, r, "sms:"+sid)
		if !ok {
			return
		}
		if !first {
			s.twimlTo(w)(emptyTwiML, nil) // acted on already: no second act, no second answer
			return
		}
	}
	answer := s.twimlTo(w)
	text := s.smsReply(r.Context(), form.Get("From"), form.Get("Body"), received)
	if text == "" {
		answer(emptyTwiML, nil)
		return
	}
	answer(twilio.SMSReply(text))
}

// smsReply acts on an SMS from phone, received at received, and returns
// the answer ("" for none).
func (s *Server) smsReply(ctx context.Context, phone, body string, received time.Time) string {
	u, ok := s.o.Phonebook.UserByPhone(phone)
	if !ok {
		s.log.Warn("sms from an unknown number", "from", twilio.MaskPhone(phone))
		return "This number is not a Klaxon user's: nothing was done."
	}
	reply, err := twilio.ParseReply(body)
	if err != nil {
		return err.Error()
	}
	switch reply.Action {
	case twilio.ActionStop, twilio.ActionStart:
		// Twilio blocks and unblocks the number itself, and answers.
		s.log.Info("sms keyword", "user", u.ID, "keyword", reply.Keyword)
		return ""
	case twilio.ActionHelp:
		return twilio.ReplyHelp
	}
	paged, later, err := s.pagedTo(ctx, u.ID, received)
	if err != nil {
		s.log.Error("sms reply", "user", u.ID, "err", err)
		return "Klaxon could not read your incidents; try again."
	}
	var targets []*klaxon.Incident
	switch {
	case reply.All:
		targets = paged
	case reply.Incident == "" && len(paged) > 0:
		targets = paged[:1]
	case reply.Incident != "":
		// Named, it may be an incident that paged the person after this
		// reply came: they know of it.
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
	var done []string
	for _, inc := range targets {
		got, err := s.act(ctx, reply.Action, inc.ID, klaxon.Actor{By: u.ID, How: "sms"})
		if err != nil {
			done = append(done, fmt.Sprintf("#%s not changed: %s", inc.ID, s.actFailure(u.ID, inc.ID, err)))
			continue
		}
		done = append(done, fmt.Sprintf("%s #%s (%s)", pastTense(reply.Action), got.ID, describe(got)))
	}
	if reply.All && len(later) > 0 {
		ids := make([]string, len(later))
		for i, inc := range later {
			ids[i] = "#" + inc.ID
		}
		done = append(done, "not "+strings.Join(ids, ", ")+": paged you after this reply")
	}
	return strings.Join(done, "; ")
}

// actFailure says to a responder's phone why an act on incident id
// failed. A refusal says what it is ("it is resolved"); a failure of
// Klaxon's own (the store cannot write) is logged, and the phone is told
// only to try again: its text is for the log, not for a caller or an SMS.
func (s *Server) actFailure(user, id string, err error) string {
	if status(err) >= http.StatusInternalServerError {
		s.log.Error("act from the phone", "user", user, "incident", id, "err", err)
		return "Klaxon could not record it; try again"
	}
	return err.Error()
}

// act carries out a responder's action on an incident.
func (s *Server) act(ctx context.Context, a twilio.Action, id string, who klaxon.Actor) (*klaxon.Incident, error) {
	switch a {
	case twilio.ActionAck:
		return s.o.Commands.Acknowledge(ctx, id, who)
	case twilio.ActionResolve:
		return s.o.Commands.Resolve(ctx, id, who)
	case twilio.ActionEscalate:
		return s.o.Commands.Escalate(ctx, id, who)
	}
	return nil, klaxon.Invalid("action", "unknown %q", a)
}

func pastTense(a twilio.Action) string {
	switch a {
	case twilio.ActionAck:
		return "Acknowledged"
	case twilio.ActionResolve:
		return "Resolved"
	case twilio.ActionEscalate:
		return "Escalated"
	}
	return string(a)
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

func openList(paged []*klaxon.Incident) string {
	if len(paged) == 0 {
		return "you have no open incidents."
	}
	ids := make([]string, len(paged))
	for i, inc := range paged {
		ids[i] = inc.ID
	}
	return "your open incidents are " + strings.Join(ids, ", ") + "."
}

// pagedTo lists the open incidents that paged user by before, latest
// page first, and those that paged user only after it.
func (s *Server) pagedTo(ctx context.Context, user string, before time.Time) (paged, later []*klaxon.Incident, err error) {
	open, err := s.o.Store.Incidents(ctx, klaxon.IncidentFilter{})
	if err != nil {
		return nil, nil, err
	}
	last := map[string]int64{}
	for _, inc := range open {
		after := false
		for _, sent := range inc.Sent {
			switch {
			case sent.User != user || sent.At.IsZero():
			case sent.At.After(before):
				after = true
			default:
				last[inc.ID] = max(last[inc.ID], sent.At.UnixNano())
			}
		}
		// A page still in the outbox may be going out now, or not yet:
		// a reply that names the incident may act on it, a bare or "all"
		// one may not.
		for _, n := range inc.Pending {
			if n.User == user {
				after = true
			}
		}
		if _, ok := last[inc.ID]; ok {
			paged = append(paged, inc)
		} else if after {
			later = append(later, inc)
		}
	}
	slices.SortStableFunc(paged, func(a, b *klaxon.Incident) int { return cmp.Compare(last[b.ID], last[a.ID]) })
	return paged, later, nil
}

// pageCallback checks a voice or status callback and reads the incident
// and notification it is about, from its query; it has answered the
// request when ok is false.
func (s *Server) pageCallback(w http.ResponseWriter, r *http.Request) (form url.Values, id string, n int, ok bool) {
	if form, ok = s.twilioForm(w, r); !ok {
		return nil, "", 0, false
	}
	id = r.URL.Query().Get("incident")
	n, err := strconv.Atoi(r.URL.Query().Get("n"))
	if id == "" || err != nil {
		writeError(w, s.log, klaxon.Invalid("", "callback without incident and n"))
		return nil, "", 0, false
	}
	return form, id, n, true
}

// twilioVoice answers a page call: the summary and a menu, or for a key
// press (step=gather) the action. An answering machine gets a short
// message, and the page counts as not reached.
func (s *Server) twilioVoice(w http.ResponseWriter, r *http.Request) {
	form, id, n, ok := s.pageCallback(w, r)
	if !ok {
		return
	}
	inc, err := s.o.Store.Incident(r.Context(), id)
	if err != nil {
		writeError(w, s.log, err)
		return
	}
	answer := s.twimlTo(w)
	auth := s.o.Twilio()
	prompt := twilio.VoicePrompt{PublicURL: auth.PublicURL, Incident: id, Notification: n, Summary: inc.Summary, Severity: inc.Severity, Alerts: inc.FiringCount}
	if strings.HasPrefix(form.Get("AnsweredBy"), "machine") || form.Get("AnsweredBy") == "fax" {
		if err := s.o.Commands.Delivery(r.Context(), id, n, false, "answering machine"); err != nil {
			s.log.Error("record delivery", "incident", id, "err", err)
		}
		answer(twilio.VoiceReply(fmt.Sprintf("This is Klaxon, with incident %s: %s. Check your messages to respond.", id, inc.Summary)))
		return
	}
	if r.URL.Query().Get("step") != "gather" {
		answer(twilio.VoiceTwiML(prompt))
		return
	}
	action, ok := twilio.ParseDigit(form.Get("Digits"))
	if !ok || action == twilio.ActionRepeat {
		answer(twilio.VoiceTwiML(prompt))
		return
	}
	u, known := s.o.Phonebook.UserByPhone(form.Get("To"))
	if !known {
		answer(twilio.VoiceReply("This phone is not a Klaxon user's. Nothing was done."))
		return
	}
	// The key acts only for the person this call was placed for: the
	// callback names the page (signed by Twilio over its URL), and the
	// incident's record of pages says whom it went to.
	if !pagedByVoice(inc, n, u.ID) {
		s.log.Warn("key press on a call that was no page to its number's owner", "incident", id, "user", u.ID)
		answer(twilio.VoiceReply("This call was not a page to you. Nothing was done. Goodbye."))
		return
	}
	if sid := form.Get("CallSid"); sid != "" {
		first, ok := s.firstTime(w, r, "voice:"+sid+":"+form.Get("Digits"))
		if !ok {
			return
		}
		if !first {
			answer(twilio.VoiceReply("That key was taken already. Goodbye."))
			return
		}
	}
	got, err := s.act(r.Context(), action, id, klaxon.Actor{By: u.ID, How: "voice"})
	if err != nil {
		answer(twilio.VoiceReply(fmt.Sprintf("Incident %s was not changed: %s. Goodbye.", id, s.actFailure(u.ID, id, err))))
		return
	}
	answer(twilio.VoiceReply(fmt.Sprintf("Incident %s %s. Goodbye.", got.ID, strings.ToLower(pastTense(action)))))
}

// twilioStatus records a message's or call's final status on the
// timeline; a page that did not reach its person moves on to their next
// contact method at once.
func (s *Server) twilioStatus(w http.ResponseWriter, r *http.Request) {
	form, id, n, ok := s.pageCallback(w, r)
	if !ok {
		return
	}
	status := form.Get("MessageStatus")
	if status == "" {
		status = form.Get("CallStatus")
	}
	reached, final := true, true
	detail := status
	switch status {
	case "delivered":
	case "completed":
		if strings.HasPrefix(form.Get("AnsweredBy"), "machine") {
			reached, detail = false, "answering machine"
		}
	case "failed", "undelivered", "busy", "no-answer", "canceled":
		reached = false
		if code := form.Get("ErrorCode"); code != "" {
			detail += " (error " + code + ")"
		}
	default:
		final = false // queued, sent, ringing, in-progress: more to come
	}
	if final {
		if err := s.o.Commands.Delivery(r.Context(), id, n, reached, detail); err != nil && !errors.Is(err, klaxon.ErrNotFound) {
			writeError(w, s.log, err)
			return
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

// pagedByVoice reports whether notification n of inc is a voice call to
// user: sent, or in the outbox while it goes out (a quick key press can
// come before the page is recorded).
func pagedByVoice(inc *klaxon.Incident, n int, user string) bool {
	for _, sent := range inc.Sent {
		if sent.Notification == n {
			return sent.User == user && sent.Via == klaxon.ViaVoice
		}
	}
	for _, p := range inc.Pending {
		if p.ID == n {
			return p.User == user && p.Via == klaxon.ViaVoice
		}
	}
	return false
}
