package slack_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/fakeclock"
	"github.com/klaxonhq/klaxon/internal/slacktest"
	"github.com/klaxonhq/klaxon/notify/slack"
)

func FuzzParseCommand(f *testing.F) {
	for _, s := range []string{"", "help", "oncall", "oncall payments-primary", "ack 42", "ACK #42", "resolve 42",
		"escalate 42", "note 42 rolling back", "note 42", "ack", "ack 4 2", "frobnicate", "  ack   42  ", "note #7 \t x"} {
		f.Add(s)
	}
	verbs := map[string]bool{"help": true, "oncall": true, "ack": true, "acknowledge": true, "resolve": true, "escalate": true, "note": true}
	f.Fuzz(func(t *testing.T, text string) {
		cmd, err := slack.ParseCommand(text)
		if err != nil {
			if !errors.Is(err, klaxon.ErrInvalid) {
				t.Fatalf("ParseCommand(%q) = %v: want ErrInvalid", text, err)
			}
			return
		}
		if !verbs[cmd.Verb] {
			t.Fatalf("ParseCommand(%q) = %+v: unknown verb", text, cmd)
		}
		if cmd.Verb != "help" && cmd.Verb != "oncall" && (cmd.Incident == "" || strings.HasPrefix(cmd.Incident, "#")) {
			t.Fatalf("ParseCommand(%q) = %+v: no incident", text, cmd)
		}
	})
}

func FuzzIncidentMessage(f *testing.F) {
	f.Add("42", "critical", "5xx ratio above 5% on payments", "alice", 2, 3)
	f.Add("7&8", "<b>", "<!channel> & <https://x|y>", "<@U1>", 0, 0)
	f.Add(strings.Repeat("9", 300), "", strings.Repeat("&", 4000), strings.Repeat("é", 3000), -1, 1<<30)
	f.Fuzz(func(t *testing.T, id, severity, summary, user string, firing, total int) {
		for _, state := range []klaxon.State{klaxon.StateTriggered, klaxon.StateAcknowledged, klaxon.StateResolved} {
			inc := &klaxon.Incident{ID: id, Severity: severity, Summary: summary, State: state, Assignee: user,
				AckedBy: user, FiringCount: firing, AlertCount: total, Labels: map[string]string{"service": user}}
			text, blocks := slack.IncidentMessage(inc, []string{user, user}, public)
			if n := utf8.RuneCountInString(text); n > 3000 || strings.ContainsAny(text, "<>") {
				t.Fatalf("text %q: %d characters, or unescaped", text, n)
			}
			b, err := json.Marshal(blocks)
			if err != nil {
				t.Fatal(err)
			}
			var got []block
			if err := json.Unmarshal(b, &got); err != nil {
				t.Fatal(err)
			}
			for _, bl := range got {
				for _, f := range bl.Fields {
					if utf8.RuneCountInString(f.Text) > 2000 {
						t.Fatalf("field of %d characters", utf8.RuneCountInString(f.Text))
					}
				}
				if bl.Text != nil && utf8.RuneCountInString(bl.Text.Text) > 3000 {
					t.Fatalf("text of %d characters", utf8.RuneCountInString(bl.Text.Text))
				}
			}
			if (len(buttonsOf(got)) > 0) != state.Open() {
				t.Fatalf("%s: buttons %v", state, buttonsOf(got))
			}
		}
	})
}

// FuzzInteraction: whatever a signed payload holds, the callbacks answer
// without failing, and act only on a button of Klaxon's pressed by a
// linked user.
func FuzzInteraction(f *testing.F) {
	seed, err := os.ReadFile("testdata/block-actions.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(string(seed))
	f.Add(strings.Replace(string(seed), "U0ALICE", "U0MALLORY", 1))
	f.Add(`{"type":"block_actions","actions":[{"block_id":"b","action_id":"klaxon_resolve"}]}`)
	f.Add(`{"type":"view_submission"}`)
	f.Add(`not json`)
	f.Add(`{"actions":{}}`)
	const secret = "fuzz"
	clock := fakeclock.New(t0)
	f.Fuzz(func(t *testing.T, payload string) {
		r := &responder{}
		h := slack.NewCallbacks(slack.CallbackOptions{SigningSecret: func() string { return secret }, Responder: r,
			Users: func(id string) (string, bool) { return "alice", id == "U0ALICE" }, Now: clock.Now,
			HTTPClient: &http.Client{Transport: offline{t}}})
		body := url.Values{"payload": {payload}}.Encode()
		req := httptest.NewRequest(http.MethodPost, slack.InteractionsPath, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set(slack.TimestampHeader, strconv.FormatInt(t0.Unix(), 10))
		req.Header.Set(slack.SignatureHeader, slacktest.Sign(secret, t0.Unix(), []byte(body)))
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusOK && w.Code != http.StatusBadRequest {
			t.Fatalf("status %d: %s", w.Code, w.Body)
		}
		for _, a := range r.Acts() {
			if !strings.HasSuffix(a, " by alice via slack") {
				t.Fatalf("act %q", a)
			}
		}
	})
}

// offline is a transport that sends nothing: answers to response URLs
// stay on this machine. It fails the test for a URL not Slack's.
type offline struct{ t *testing.T }

func (o offline) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme != "https" || req.URL.Host != "hooks.slack.com" && req.URL.Host != "hooks.slack-gov.com" {
		o.t.Errorf("answer posted to %s", req.URL.Redacted())
	}
	return nil, errors.New("offline")
}
