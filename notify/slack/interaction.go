package slack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	slackapi "github.com/slack-go/slack"

	"github.com/klaxonhq/klaxon"
)

// interaction takes a button press on an incident's message: the
// pressing Slack user, if they are a Klaxon user, acts on the incident
// the button is of. The answer goes, ephemeral, to the press's
// response_url, and in the HTTP answer too, which Slack shows for the
// interactions that have one.
func (c *Callbacks) interaction(w http.ResponseWriter, r *http.Request) {
	form, ok := c.form(w, r)
	if !ok {
		return
	}
	var ic slackapi.InteractionCallback
	if err := json.Unmarshal([]byte(form.Get("payload")), &ic); err != nil {
		c.refuse(w, r, fmt.Errorf("slack interaction: payload: %w: %w", klaxon.ErrInvalid, err))
		return
	}
	ctx := r.Context()
	answer := func(text string) {
		c.respond(ctx, ic.ResponseURL, text)
		ephemeral(w, text)
	}
	if err := c.first(r); err != nil {
		if errors.Is(err, klaxon.ErrUnauthorized) {
			c.refuse(w, r, err)
			return
		}
		answer(tryAgain)
		return
	}
	if ic.Type != slackapi.InteractionTypeBlockActions {
		w.WriteHeader(http.StatusOK) // not Klaxon's: nothing to do
		return
	}
	if text := c.press(ctx, ic); text != "" {
		answer(text)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// press acts on the buttons of Klaxon's that ic pressed, and returns what
// to tell the user ("" when none was Klaxon's).
func (c *Callbacks) press(ctx context.Context, ic slackapi.InteractionCallback) string {
	var done []string
	for _, a := range ic.ActionCallback.BlockActions {
		act, ok := actions[a.ActionID]
		if !ok {
			continue
		}
		id, at, _ := strings.Cut(a.Value, "@")
		user, ok := c.user(ic.User.ID)
		if !ok {
			c.log.WarnContext(ctx, "slack button pressed by an unknown user", "slack_user", ic.User.ID, "incident", id)
			return notLinked(ic.User.ID)
		}
		who := klaxon.Actor{By: user, How: How}
		if act == klaxon.ActionEscalate && at != "" {
			// The same button pressed twice (a double click, a slow
			// answer) escalates once: the message, updated, draws a new
			// one.
			who.Once = klaxon.OnceRetry + "slack:escalate:" + id + "@" + clip(at, maxName)
		}
		done = append(done, c.act(ctx, act, id, who))
	}
	return strings.Join(done, "\n")
}

// user is the Klaxon user of Slack user slackID.
func (c *Callbacks) user(slackID string) (string, bool) {
	if c.o.Users == nil || slackID == "" {
		return "", false
	}
	user, ok := c.o.Users(slackID)
	return user, ok && user != ""
}

// notLinked tells Slack user slackID why they cannot act.
func notLinked(slackID string) string {
	return "Nothing was done: your Slack account (" + clip(slackID, maxName) + ") is not linked to a Klaxon user. " +
		"Ask a Klaxon admin to add your Slack member ID to your user in users.yaml."
}

// act carries out a on incident id for who, and says what became of it.
func (c *Callbacks) act(ctx context.Context, a klaxon.Action, id string, who klaxon.Actor) string {
	id = strings.TrimPrefix(strings.TrimSpace(id), "#")
	if id == "" {
		return "Nothing was done: which incident? Give its number."
	}
	inc, err := c.o.Responder.Act(ctx, a, id, who)
	if errors.Is(err, klaxon.ErrUsed) && who.Once != "" {
		return "#" + clip(id, maxName) + " was escalated from this message already; the message shows it once it updates. " +
			"To escalate again, press Escalate on the updated message, or send `/klaxon escalate " + clip(id, maxName) + "`."
	}
	if err != nil {
		return "#" + clip(id, maxName) + " not changed: " + c.actFailure(ctx, who.By, id, err)
	}
	return a.Done() + " " + describe(inc)
}

// describe is an incident's short description, escaped: "#42 (payments:
// 5xx ratio above 5%)".
func describe(inc *klaxon.Incident) string {
	what := inc.Labels["service"]
	if what == "" {
		what = inc.Policy.Name
	}
	s := inc.Summary
	if what != "" {
		s = what + ": " + s
	}
	if s == "" {
		return "#" + clip(inc.ID, maxName)
	}
	return "#" + clip(inc.ID, maxName) + " (" + clip(s, maxSummary) + ")"
}
