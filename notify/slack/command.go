package slack

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/klaxonhq/klaxon"
)

// CommandHelp lists what the /klaxon slash command does.
const CommandHelp = "*/klaxon* works incidents from Slack:\n" +
	"• `/klaxon oncall [schedule]`: who is on call\n" +
	"• `/klaxon ack ID`: acknowledge incident ID\n" +
	"• `/klaxon resolve ID`: resolve it\n" +
	"• `/klaxon escalate ID`: page its next step now\n" +
	"• `/klaxon note ID text`: note text on its timeline\n" +
	"• `/klaxon help`: this help"

// Command is a /klaxon slash command, as typed.
type Command struct {
	// Verb is the subcommand, lower case: oncall, ack, resolve,
	// escalate, note, help ("" for none).
	Verb string
	// Incident is the incident an act or note is on, without a leading
	// "#"; Schedule the schedule oncall asks about.
	Incident string
	Schedule string
	// Text is a note's text.
	Text string
}

// commandActs maps a slash command's verb to what it asks of an incident.
var commandActs = map[string]klaxon.Action{
	"ack": klaxon.ActionAck, "acknowledge": klaxon.ActionAck,
	"resolve":  klaxon.ActionResolve,
	"escalate": klaxon.ActionEscalate,
}

// ParseCommand reads the text that followed /klaxon: "oncall [schedule]",
// "ack 42", "resolve #42", "escalate 42", "note 42 rolling back", "help".
// Verbs are read ignoring case. An unknown verb, or one missing what it
// needs, is an error matching klaxon.ErrInvalid that says why.
func ParseCommand(text string) (Command, error) {
	verb, rest, _ := strings.Cut(strings.TrimSpace(text), " ")
	cmd := Command{Verb: strings.ToLower(verb)}
	rest = strings.TrimSpace(rest)
	switch cmd.Verb {
	case "", "help":
		cmd.Verb = "help"
	case "oncall", "on-call":
		cmd.Verb, cmd.Schedule = "oncall", rest
	case "note":
		id, note, _ := strings.Cut(rest, " ")
		cmd.Incident, cmd.Text = strings.TrimPrefix(id, "#"), strings.TrimSpace(note)
		if cmd.Incident == "" || cmd.Text == "" {
			return Command{}, klaxon.Invalid("text", "say which incident and what: `/klaxon note ID text`")
		}
	default:
		if _, ok := commandActs[cmd.Verb]; !ok {
			return Command{}, klaxon.Invalid("text", "unknown command `%s`", clip(verb, maxName))
		}
		cmd.Incident = strings.TrimPrefix(rest, "#")
		if cmd.Incident == "" || strings.ContainsAny(cmd.Incident, " \t\n") {
			return Command{}, klaxon.Invalid("text", "say which incident: `/klaxon %s ID`", cmd.Verb)
		}
	}
	return cmd, nil
}

// command takes a /klaxon slash command and answers it, ephemeral, as
// Slack shows a slash command's HTTP answer to who typed it. Anyone in
// the workspace may ask for help or who is on call; only a Slack user
// linked to a Klaxon user may act or note.
func (c *Callbacks) command(w http.ResponseWriter, r *http.Request) {
	form, ok := c.form(w, r)
	if !ok {
		return
	}
	if err := c.first(r); err != nil {
		if errors.Is(err, klaxon.ErrUnauthorized) {
			c.refuse(w, r, err)
			return
		}
		ephemeral(w, tryAgain)
		return
	}
	ephemeral(w, c.run(r.Context(), form.Get("user_id"), form.Get("text")))
}

// run carries out a slash command's text for Slack user slackID, and
// returns the answer.
func (c *Callbacks) run(ctx context.Context, slackID, text string) string {
	cmd, err := ParseCommand(text)
	if err != nil {
		var fe *klaxon.FieldError
		if errors.As(err, &fe) {
			return fe.Msg + ".\n" + CommandHelp
		}
		return CommandHelp
	}
	switch cmd.Verb {
	case "help":
		return CommandHelp
	case "oncall":
		who, err := c.o.Responder.OnCall(ctx, cmd.Schedule)
		if err != nil {
			if errors.Is(err, klaxon.ErrNotFound) {
				return "No schedule " + clip(cmd.Schedule, maxName) + "."
			}
			return "Klaxon could not say who is on call: " + c.actFailure(ctx, "", "", err)
		}
		if who == "" {
			return "Nobody is on call."
		}
		return clip(who, maxText)
	}
	user, ok := c.user(slackID)
	if !ok {
		c.log.WarnContext(ctx, "slack command by an unknown user", "slack_user", slackID, "incident", cmd.Incident)
		return notLinked(slackID)
	}
	if cmd.Verb == "note" {
		inc, err := c.o.Responder.Note(ctx, cmd.Incident, cmd.Text, false, klaxon.Actor{By: user, How: How})
		if err != nil {
			return "#" + clip(cmd.Incident, maxName) + " not noted: " + c.actFailure(ctx, user, cmd.Incident, err)
		}
		return "Noted on " + describe(inc)
	}
	return c.act(ctx, commandActs[cmd.Verb], cmd.Incident, klaxon.Actor{By: user, How: How})
}
