package slack_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/incidenttest"
	"github.com/klaxonhq/klaxon/internal/slacktest"
	"github.com/klaxonhq/klaxon/notify/slack"
	"github.com/klaxonhq/klaxon/store/embedded"
)

// TestButtonPress: a signed press of Acknowledge acts as the Klaxon user
// the Slack user is, by Slack, and tells them so, ephemeral, in the
// answer and at the press's response_url.
func TestButtonPress(t *testing.T) {
	r := newRig(t)
	a := r.press(t, "U0ALICE", slack.ActionAck, "42")
	require.Equal(t, http.StatusOK, a.Status, a.Body)
	require.Equal(t, []string{"ack 42 by alice via slack"}, r.responder.Acts())
	require.Equal(t, "ephemeral", a.ResponseType)
	require.Equal(t, "Acknowledged #42 (payments: payments is down)", a.Text)
	require.Equal(t, []slacktest.Response{{ID: "U0ALICE-klaxon_ack", ResponseType: "ephemeral",
		Text: "Acknowledged #42 (payments: payments is down)"}}, r.slack.Responses())

	require.Equal(t, "Resolved #42 (payments: payments is down)", r.press(t, "U0ALICE", slack.ActionResolve, "42").Text)
	require.Equal(t, "Escalated #42 (payments: payments is down)", r.press(t, "U0ALICE", slack.ActionEscalate, "42").Text)
	require.Equal(t, []string{"ack 42 by alice via slack", "resolve 42 by alice via slack", "escalate 42 by alice via slack"}, r.responder.Acts())

	// A button that is not Klaxon's is answered, and does nothing.
	a = r.press(t, "U0ALICE", "someone_elses", "42")
	require.Equal(t, http.StatusOK, a.Status)
	require.Empty(t, a.Body)
	require.Len(t, r.responder.Acts(), 3)
}

// TestCallbacksRefuse: a request not signed with the app's secret, or
// signed more than five minutes from now either way, gets 401 and acts
// on nothing; one at the edge of the window passes. Without Slack
// configured, every callback gets 404.
func TestCallbacksRefuse(t *testing.T) {
	r := newRig(t)
	target := r.base + slack.InteractionsPath
	press := slacktest.Press{UserID: "U0ALICE", ActionID: slack.ActionAck, Value: "42", Channel: channel}
	now := r.clock.Now()
	tests := []struct {
		name   string
		req    func() *http.Request
		status int
	}{
		{"forged signature", func() *http.Request {
			req := slacktest.Interaction(t, target, r.slack.SigningSecret, now, press)
			req.Header.Set(slack.SignatureHeader, "v0="+strings.Repeat("ab", 32))
			return req
		}, http.StatusUnauthorized},
		{"another secret", func() *http.Request {
			return slacktest.Interaction(t, target, "not the app's secret", now, press)
		}, http.StatusUnauthorized},
		{"no signature", func() *http.Request {
			req := slacktest.Interaction(t, target, r.slack.SigningSecret, now, press)
			req.Header.Del(slack.SignatureHeader)
			return req
		}, http.StatusUnauthorized},
		{"timestamp changed", func() *http.Request {
			req := slacktest.Interaction(t, target, r.slack.SigningSecret, now, press)
			req.Header.Set(slack.TimestampHeader, strconv.FormatInt(now.Unix()+1, 10))
			return req
		}, http.StatusUnauthorized},
		{"stale", func() *http.Request {
			return slacktest.Interaction(t, target, r.slack.SigningSecret, now.Add(-5*time.Minute-time.Second), press)
		}, http.StatusUnauthorized},
		{"from the future", func() *http.Request {
			return slacktest.Interaction(t, target, r.slack.SigningSecret, now.Add(5*time.Minute+time.Second), press)
		}, http.StatusUnauthorized},
		{"stale command", func() *http.Request {
			return slacktest.SlashCommand(t, r.base+slack.CommandsPath, r.slack.SigningSecret, now.Add(-time.Hour),
				slacktest.Command{UserID: "U0ALICE", Text: "ack 42"})
		}, http.StatusUnauthorized},
		{"body too large", func() *http.Request {
			p := press
			p.Value = strings.Repeat("4", 1<<20)
			return slacktest.Interaction(t, target, r.slack.SigningSecret, now, p)
		}, http.StatusRequestEntityTooLarge},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := slacktest.Do(t, tc.req())
			require.Equal(t, tc.status, a.Status, a.Body)
			require.Empty(t, r.responder.Acts())
		})
	}

	// Five minutes off, either way, is within the window.
	require.Equal(t, http.StatusOK, r.pressAt(t, "U0ALICE", slack.ActionAck, "42", now.Add(-5*time.Minute)).Status)
	require.Equal(t, http.StatusOK, r.pressAt(t, "U0ALICE", slack.ActionAck, "43", now.Add(5*time.Minute)).Status)
	require.Equal(t, []string{"ack 42 by alice via slack", "ack 43 by alice via slack"}, r.responder.Acts())

	secret := r.secret.Swap(new(string))
	a := r.press(t, "U0ALICE", slack.ActionAck, "44")
	require.Equal(t, http.StatusNotFound, a.Status)
	require.Contains(t, a.Body, "Slack is not configured")
	a = r.command(t, "U0ALICE", "help")
	require.Equal(t, http.StatusNotFound, a.Status)
	r.secret.Store(secret) // configured again (a reload), it acts
	require.Equal(t, "Acknowledged #44 (payments: payments is down)", r.press(t, "U0ALICE", slack.ActionAck, "44").Text)
}

// TestCallbacksActOnce: a signed request sent again is refused and acts
// once; while the memory of requests cannot be read, the user is told to
// try again and nothing acts.
func TestCallbacksActOnce(t *testing.T) {
	r := newRig(t)
	press := slacktest.Press{UserID: "U0ALICE", ActionID: slack.ActionAck, Value: "42", Channel: channel, TriggerID: "1.2.3"}
	send := func() slacktest.Answer {
		return slacktest.Do(t, slacktest.Interaction(t, r.base+slack.InteractionsPath, r.slack.SigningSecret, r.clock.Now(), press))
	}
	r.memory.down.Store(true)
	a := send()
	require.Equal(t, http.StatusOK, a.Status)
	require.Equal(t, "Klaxon could not take this request; try again.", a.Text)
	require.Empty(t, r.responder.Acts())

	r.memory.down.Store(false)
	require.Equal(t, http.StatusOK, send().Status)
	replay := send()
	require.Equal(t, http.StatusUnauthorized, replay.Status, replay.Body)
	require.Contains(t, replay.Body, "taken already")
	// The same signature in capitals is the same request.
	req := slacktest.Interaction(t, r.base+slack.InteractionsPath, r.slack.SigningSecret, r.clock.Now(), press)
	req.Header.Set(slack.SignatureHeader, "v0="+strings.ToUpper(strings.TrimPrefix(req.Header.Get(slack.SignatureHeader), "v0=")))
	shouted := slacktest.Do(t, req)
	require.Equal(t, http.StatusUnauthorized, shouted.Status, shouted.Body)
	require.Equal(t, []string{"ack 42 by alice via slack"}, r.responder.Acts())
	r.clock.Add(time.Second)
	require.Equal(t, http.StatusOK, send().Status, "signed anew, at another time, it is another request")
	require.Len(t, r.responder.Acts(), 2)

	cmd := func() slacktest.Answer {
		return slacktest.Do(t, slacktest.SlashCommand(t, r.base+slack.CommandsPath, r.slack.SigningSecret, r.clock.Now(),
			slacktest.Command{UserID: "U0ALICE", Text: "resolve 42", TriggerID: "4.5.6"}))
	}
	require.Equal(t, "Resolved #42 (payments: payments is down)", cmd().Text)
	require.Equal(t, http.StatusUnauthorized, cmd().Status)
	require.Len(t, r.responder.Acts(), 3)
}

// TestUnlinkedUser: a Slack user who is no Klaxon user cannot act, and is
// told why; they may still ask who is on call.
func TestUnlinkedUser(t *testing.T) {
	r := newRig(t)
	a := r.press(t, "U0MALLORY", slack.ActionAck, "42")
	require.Equal(t, http.StatusOK, a.Status)
	require.Contains(t, a.Text, "Nothing was done: your Slack account (U0MALLORY) is not linked to a Klaxon user.")
	require.Len(t, r.slack.Responses(), 1)
	require.Equal(t, a.Text, r.slack.Responses()[0].Text)
	require.Contains(t, r.command(t, "U0MALLORY", "ack 42").Text, "is not linked to a Klaxon user")
	require.Contains(t, r.command(t, "U0MALLORY", "note 42 hi").Text, "is not linked to a Klaxon user")
	require.Empty(t, r.responder.Acts())
	require.Empty(t, r.responder.notes)
	require.Equal(t, "payments-primary: alice", r.command(t, "U0MALLORY", "oncall").Text)
}

// TestActRefused: a refusal is said; a failure of Klaxon's own says to
// try again, and not what failed.
func TestActRefused(t *testing.T) {
	r := newRig(t)
	r.responder.err = fmt.Errorf("incident 42: %w", klaxon.Conflict("cannot acknowledge: it is resolved"))
	require.Equal(t, "#42 not changed: incident 42: cannot acknowledge: it is resolved", r.press(t, "U0ALICE", slack.ActionAck, "42").Text)
	r.responder.err = fmt.Errorf("commit: disk /var/lib/klaxon full: %w", klaxon.ErrUnavailable)
	a := r.command(t, "U0ALICE", "ack 42")
	require.Equal(t, "#42 not changed: Klaxon could not record it; try again.", a.Text)
	a = r.command(t, "U0ALICE", "note 42 still down")
	require.Equal(t, "#42 not noted: Klaxon could not record it; try again.", a.Text)
}

func TestSlashCommands(t *testing.T) {
	tests := []struct {
		text  string
		want  string
		acts  []string
		notes []string
		asked []string
	}{
		{text: "oncall", want: "payments-primary: alice", asked: []string{""}},
		{text: "oncall payments-primary", want: "payments-primary: alice", asked: []string{"payments-primary"}},
		{text: "oncall nope", want: "No schedule nope.", asked: []string{"nope"}},
		{text: "ack 42", want: "Acknowledged #42 (payments: payments is down)", acts: []string{"ack 42 by alice via slack"}},
		{text: "ACK #42", want: "Acknowledged #42 (payments: payments is down)", acts: []string{"ack 42 by alice via slack"}},
		{text: "resolve 42", want: "Resolved #42 (payments: payments is down)", acts: []string{"resolve 42 by alice via slack"}},
		{text: "escalate 42", want: "Escalated #42 (payments: payments is down)", acts: []string{"escalate 42 by alice via slack"}},
		{text: "note 42 rolling back the <deploy>", want: "Noted on #42 (payments: payments is down)",
			notes: []string{"42 by alice via slack (update false): rolling back the <deploy>"}},
		{text: "help", want: slack.CommandHelp},
		{text: "", want: slack.CommandHelp},
		{text: "frobnicate 42", want: "unknown command `frobnicate`.\n" + slack.CommandHelp},
		{text: "<!channel>", want: "unknown command `&lt;!channel&gt;`.\n" + slack.CommandHelp},
		{text: "ack", want: "say which incident: `/klaxon ack ID`.\n" + slack.CommandHelp},
		{text: "note 42", want: "say which incident and what: `/klaxon note ID text`.\n" + slack.CommandHelp},
	}
	for _, tc := range tests {
		t.Run(tc.text, func(t *testing.T) {
			r := newRig(t)
			a := r.command(t, "U0ALICE", tc.text)
			require.Equal(t, http.StatusOK, a.Status, a.Body)
			require.Equal(t, "ephemeral", a.ResponseType)
			require.Equal(t, tc.want, a.Text)
			require.Equal(t, tc.acts, r.responder.Acts())
			require.Equal(t, tc.notes, r.responder.notes)
			require.Equal(t, tc.asked, r.responder.asked)
			require.Empty(t, r.slack.Responses(), "a slash command's answer is its HTTP answer")
		})
	}
}

// TestResponseURLs: answers go only to Slack's response URLs (and the
// test's fake), never to another host a payload names.
func TestResponseURLs(t *testing.T) {
	r := newRig(t)
	var hits atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hits.Add(1) }))
	t.Cleanup(other.Close)
	a := slacktest.Do(t, slacktest.Interaction(t, r.base+slack.InteractionsPath, r.slack.SigningSecret, r.clock.Now(),
		slacktest.Press{UserID: "U0ALICE", ActionID: slack.ActionAck, Value: "42", ResponseURL: other.URL + "/hook"}))
	require.Equal(t, "Acknowledged #42 (payments: payments is down)", a.Text)
	require.Zero(t, hits.Load())
}

// engine is the real escalation engine, which answers who is on call as
// the caller's will.
type engine struct{ *incidenttest.Rig }

func (e engine) Act(ctx context.Context, a klaxon.Action, id string, who klaxon.Actor) (*klaxon.Incident, error) {
	return e.Engine.Act(ctx, a, id, who)
}

func (e engine) Note(ctx context.Context, id, text string, update bool, who klaxon.Actor) (*klaxon.Incident, error) {
	return e.Engine.Note(ctx, id, text, update, who)
}

func (engine) OnCall(context.Context, string) (string, error) { return "nobody", nil }

var _ slack.Memory = (*embedded.Store)(nil)

// withEngine opens an incident on the real engine and store, serves
// Slack's callbacks for it (U0ALICE is alice) and posts its message to a
// fake Slack.
func withEngine(t *testing.T) (ir *incidenttest.Rig, s *slacktest.Server, srv *httptest.Server, sl *slack.Slack, id string, chat klaxon.Chat) {
	t.Helper()
	ir = incidenttest.NewRig(t, t0)
	s = slacktest.Start(t)
	id = ir.Open(t, "payments", klaxon.Sent{Notification: 1, User: "alice", Via: slack.Via, At: t0})
	srv = httptest.NewServer(slack.NewCallbacks(slack.CallbackOptions{
		SigningSecret:   func() string { return s.SigningSecret },
		Responder:       engine{ir},
		Users:           func(id string) (string, bool) { return "alice", id == "U0ALICE" },
		Memory:          ir.Store.Store,
		ResponseURLBase: s.ResponseURL(""),
		Now:             ir.Clock.Now,
	}))
	t.Cleanup(srv.Close)
	sl = newSlack(t, s, ir.Clock)
	inc := ir.Incident(t, id)
	chat, err := sl.Post(t.Context(), channel, inc, inc.PagedUsers())
	require.NoError(t, err)
	return ir, s, srv, sl, id, chat
}

// TestWithTheEngine: on the real engine and store, a press of Acknowledge
// on an incident's message acknowledges it as the user, by Slack, once;
// the message, updated, offers what is left; a slash command resolves it.
func TestWithTheEngine(t *testing.T) {
	ir, s, srv, sl, id, chat := withEngine(t)
	ts := chat.TS
	var err error
	inc := ir.Incident(t, id)

	ir.Clock.Add(time.Minute)
	press := slacktest.Press{UserID: "U0ALICE", ActionID: slack.ActionAck, Value: id, Channel: channel, MessageTS: ts}
	send := func() slacktest.Answer {
		return slacktest.Do(t, slacktest.Interaction(t, srv.URL+slack.InteractionsPath, s.SigningSecret, ir.Clock.Now(), press))
	}
	a := send()
	require.Contains(t, a.Text, "Acknowledged #"+id)
	inc = ir.Incident(t, id)
	require.Equal(t, klaxon.StateAcknowledged, inc.State)
	require.Equal(t, "alice", inc.AckedBy)
	require.Equal(t, http.StatusUnauthorized, send().Status, "the store remembers the request")
	events, _, err := ir.Store.Timeline(t.Context(), id, 0, 100)
	require.NoError(t, err)
	var acks []string
	for _, e := range events {
		if e.Kind == klaxon.EventAcknowledged {
			acks = append(acks, e.By+"/"+e.How)
		}
	}
	require.Equal(t, []string{"alice/slack"}, acks)

	require.NoError(t, sl.Update(t.Context(), channel, ts, inc, inc.PagedUsers()))
	at := fmt.Sprintf("%d.%d.%d", inc.Escalation.Round, inc.Escalation.Step, inc.Seq)
	require.Equal(t, []string{"klaxon_resolve=" + id, "klaxon_escalate=" + id + "@" + at}, buttonsOf(blocksOf(t, s.Messages()[0])))

	a = slacktest.Do(t, slacktest.SlashCommand(t, srv.URL+slack.CommandsPath, s.SigningSecret, ir.Clock.Now(),
		slacktest.Command{UserID: "U0ALICE", Text: "resolve " + id}))
	require.Contains(t, a.Text, "Resolved #"+id)
	inc = ir.Incident(t, id)
	require.Equal(t, klaxon.StateResolved, inc.State)
	require.NoError(t, sl.Update(t.Context(), channel, ts, inc, inc.PagedUsers()))
	require.Nil(t, buttonsOf(blocksOf(t, s.Messages()[0])))
}

// TestEscalateButtonOnce: on the real engine, Escalate pressed twice on
// the same message (a double click: two interactions) escalates once,
// and the second press says why; the message, updated after the
// escalation, carries a button that escalates again.
func TestEscalateButtonOnce(t *testing.T) {
	ir, s, srv, sl, id, chat := withEngine(t)
	escalateValue := func() string {
		for _, b := range buttonsOf(blocksOf(t, s.Messages()[0])) {
			if v, ok := strings.CutPrefix(b, slack.ActionEscalate+"="); ok {
				return v
			}
		}
		t.Fatal("no Escalate button")
		return ""
	}
	press := func(value string) string {
		ir.Clock.Add(time.Second) // another press, not a replay
		a := slacktest.Do(t, slacktest.Interaction(t, srv.URL+slack.InteractionsPath, s.SigningSecret, ir.Clock.Now(),
			slacktest.Press{UserID: "U0ALICE", ActionID: slack.ActionEscalate, Value: value, Channel: channel, MessageTS: chat.TS}))
		require.Equal(t, http.StatusOK, a.Status, a.Body)
		return a.Text
	}
	escalations := func() int {
		return ir.Store.CountEvents(t, id, func(ev klaxon.Event) bool { return ev.Kind == klaxon.EventEscalated && ev.By == "alice" })
	}

	first := escalateValue()
	require.Contains(t, press(first), "Escalated #"+id)
	require.Contains(t, press(first), "#"+id+" was escalated from this message already")
	require.Equal(t, 1, escalations(), "a double click escalates once")

	inc := ir.Incident(t, id)
	require.NoError(t, sl.Update(t.Context(), channel, chat.TS, inc, inc.PagedUsers()))
	require.NotEqual(t, first, escalateValue(), "the updated message draws a new button")
	require.Contains(t, press(escalateValue()), "Escalated #"+id)
	require.Equal(t, 2, escalations())
	require.Contains(t, press(id), "Escalated #"+id, "a button drawn before buttons carried where the walk was acts as it did")
	require.Equal(t, 3, escalations())
}
