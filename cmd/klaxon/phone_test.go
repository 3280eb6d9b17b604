package main

import (
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/api"
	"github.com/klaxonhq/klaxon/internal/smtptest"
	"github.com/klaxonhq/klaxon/internal/twiliotest"
	"github.com/klaxonhq/klaxon/notify/twilio"
)

const alicePhone = "+15550100001"

// phoneRig is Klaxon with Twilio and SMTP configured against their test
// doubles.
type phoneRig struct {
	base   string
	logs   *served
	twilio *twiliotest.Server
	smtp   *smtptest.Server
}

// startPhones starts Klaxon paging alice with rules (YAML list items);
// notify holds more keys of notify:, indented.
func startPhones(t *testing.T, rules string, notify ...string) *phoneRig {
	t.Helper()
	tw := twiliotest.Start(t)
	mail := smtptest.Start(t, smtptest.Options{})
	config := writeConfig(t, time.Hour)
	b, err := os.ReadFile(config)
	require.NoError(t, err)
	cfg := strings.Replace(string(b), "notify:\n  console: {}\n", fmt.Sprintf(`notify:
  twilio: {account_sid: %s, auth_token: %s, from: "+15550100000", api_url: %q}
  smtp: {host: %s, port: %d, tls: none, from: "Klaxon <klaxon@example.com>"}
%ssecret: test-secret-0123456789
`, tw.AccountSID, tw.AuthToken, tw.URL, mail.Host(), mail.Port(), strings.Join(notify, "")), 1)
	users := filepath.Join(filepath.Dir(config), "users.yaml")
	require.NoError(t, os.WriteFile(users, []byte(`users:
  - id: alice
    phone: "`+alicePhone+`"
    email: alice@example.com
    notify:
`+rules+`
  - {id: bob, email: bob@example.com, notify: [{via: email, after: 0s}]}
`), 0o644))
	base, l := startServeAt(t, config, func(addr string) {
		at := strings.Replace(cfg, "listen: 127.0.0.1:0", "listen: "+addr+"\npublic_url: http://"+addr, 1)
		require.NotEqual(t, cfg, at)
		require.NoError(t, os.WriteFile(config, []byte(at), 0o644))
	})
	return &phoneRig{base: base, logs: l, twilio: tw, smtp: mail}
}

func (p *phoneRig) open(t *testing.T) *api.IncidentView {
	t.Helper()
	postFixture(t, p.base, "firing-two-alerts.json")
	return findIncident(t, p.base, "HighErrorRate")
}

func (p *phoneRig) state(t *testing.T, id string) klaxon.State {
	return getIncident(t, p.base, id).State
}

func TestSMSReplyAcknowledges(t *testing.T) {
	p := startPhones(t, "      - {via: sms, after: 0s}\n      - {via: voice, after: 1h}")
	inc := p.open(t)
	sms := p.twilio.WaitSMS(t, alicePhone)
	require.LessOrEqual(t, len(sms.Body), 160)
	require.Contains(t, sms.Body, "#"+inc.ID)
	require.Contains(t, sms.Body, inc.ID+"A")
	require.Equal(t, p.base+twilio.StatusPath+"?incident="+inc.ID+"&n=1", sms.StatusCallback)

	// A forged reply changes nothing.
	forged := p.twilio.Post(t, p.base+twilio.SMSPath, url.Values{"From": {alicePhone}, "Body": {inc.ID + "A"}}, "bm90IGEgc2lnbmF0dXJl")
	require.Equal(t, http.StatusForbidden, forged.Status)
	require.Equal(t, klaxon.StateTriggered, p.state(t, inc.ID))

	// Another number cannot act.
	res := p.twilio.SendSMS(t, p.base+twilio.SMSPath, "+15559999999", inc.ID+"A")
	require.Contains(t, res.Body, "not a Klaxon user")
	require.Equal(t, klaxon.StateTriggered, p.state(t, inc.ID))

	res = p.twilio.SendSMS(t, p.base+twilio.SMSPath, alicePhone, "7A")
	require.Contains(t, res.Body, "Unknown code 7A: your open incidents are "+inc.ID+".")

	res = p.twilio.SendSMS(t, p.base+twilio.SMSPath, alicePhone, inc.ID+"a")
	require.Equal(t, http.StatusOK, res.Status)
	require.Contains(t, res.Body, "Acknowledged #"+inc.ID+" (payments: 5xx ratio above 5% on payments)")
	got := getIncident(t, p.base, inc.ID)
	require.Equal(t, klaxon.StateAcknowledged, got.State)
	require.Equal(t, "alice", got.AckedBy)
	require.Empty(t, got.Pending, "the call that would follow is dropped")
	// That the call never comes is TestSMSReplyDropsTheCall's, with a
	// clock the test moves (internal/klaxontest).
}

func TestVoiceKeyPressAcknowledges(t *testing.T) {
	p := startPhones(t, "      - {via: voice, after: 0s}")
	inc := p.open(t)
	call := p.twilio.WaitCall(t, alicePhone)
	require.Equal(t, "DetectMessageEnd", call.MachineDetection)

	answered := url.Values{"CallSid": {call.SID}, "CallStatus": {"in-progress"}, "AnsweredBy": {"human"}, "To": {alicePhone}, "From": {call.From}}
	res := p.twilio.Post(t, call.URL, answered, "")
	require.Equal(t, http.StatusOK, res.Status)
	require.Contains(t, res.Body, "<Gather")
	require.Contains(t, res.Body, "5xx ratio above 5% on payments")
	action := regexp.MustCompile(`action="([^"]+)"`).FindStringSubmatch(res.Body)
	require.NotNil(t, action, res.Body)

	res = p.twilio.Gather(t, strings.ReplaceAll(action[1], "&amp;", "&"), call.SID, "1")
	require.Contains(t, res.Body, "Incident "+inc.ID+" acknowledged")
	got := getIncident(t, p.base, inc.ID)
	require.Equal(t, klaxon.StateAcknowledged, got.State)
	// The engine records the call it placed in a commit of its own, which
	// may land after the acknowledgement: find the acknowledgement.
	i := slices.IndexFunc(got.Timeline, func(e klaxon.Event) bool { return e.Kind == klaxon.EventAcknowledged })
	require.GreaterOrEqual(t, i, 0, "acknowledged on the timeline")
	require.Equal(t, "voice", got.Timeline[i].How)
}

func TestEmailLinkAcknowledges(t *testing.T) {
	p := startPhones(t, "      - {via: email, after: 0s}")
	inc := p.open(t)
	msg := p.smtp.WaitMessage(t)
	require.Equal(t, []string{"alice@example.com"}, msg.To)
	body := strings.ReplaceAll(string(msg.Data), "=\r\n", "") // quoted-printable soft breaks
	require.Contains(t, body, "[Klaxon #"+inc.ID+"]")
	link := regexp.MustCompile(regexp.QuoteMeta(p.base) + `/v1/ack/[A-Za-z0-9_=-]+`).FindString(body)
	require.NotEmpty(t, link, body)

	// GET and HEAD (a mail scanner following the link) only show the page.
	resp, err := http.Get(link)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, klaxon.StateTriggered, p.state(t, inc.ID))
	resp, err = http.Head(link)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, klaxon.StateTriggered, p.state(t, inc.ID), "HEAD acts on nothing")

	resp, err = http.Post(link, "application/x-www-form-urlencoded", nil)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	got := getIncident(t, p.base, inc.ID)
	require.Equal(t, klaxon.StateAcknowledged, got.State)
	// The pages that went out with the mail may be recorded after the
	// acknowledgement.
	acked := got.Timeline[indexOf(eventKinds(got), klaxon.EventAcknowledged)]
	require.Equal(t, "email", acked.How)

	resp, err = http.Post(link[:len(link)-2]+"xx", "application/x-www-form-urlencoded", nil)
	require.NoError(t, err)
	resp.Body.Close()
	require.Contains(t, []int{http.StatusBadRequest, http.StatusForbidden}, resp.StatusCode, "a tampered link is refused")
}

func TestFailedSMSCallsAtOnce(t *testing.T) {
	p := startPhones(t, "      - {via: sms, after: 0s}\n      - {via: voice, after: 1h}")
	inc := p.open(t)
	sms := p.twilio.WaitSMS(t, alicePhone)
	// Twilio reports the SMS undelivered: the call, due in an hour, goes now.
	res := p.twilio.SendStatus(t, sms.StatusCallback, twiliotest.ReadForm(t, filepath.Join("testdata", "twilio-message-status.txt")))
	require.Equal(t, http.StatusNoContent, res.Status)
	call := p.twilio.WaitCall(t, alicePhone)
	require.Contains(t, call.URL, "incident="+inc.ID)
	got := getIncident(t, p.base, inc.ID)
	require.Contains(t, eventKinds(got), klaxon.EventPageFailed)
	failed := got.Timeline[indexOf(eventKinds(got), klaxon.EventPageFailed)]
	require.Equal(t, "undelivered (error 30003)", failed.Text)
	require.Equal(t, "sms", failed.Via)

	// The same report again records nothing new.
	waitFor(t, "the call is recorded", func() bool {
		return strings.Count(fmt.Sprint(eventKinds(getIncident(t, p.base, inc.ID))), string(klaxon.EventPageSent)) == 2
	})
	before := len(getIncident(t, p.base, inc.ID).Timeline)
	p.twilio.SendStatus(t, sms.StatusCallback, twiliotest.ReadForm(t, filepath.Join("testdata", "twilio-message-status.txt")))
	require.Len(t, getIncident(t, p.base, inc.ID).Timeline, before)
}

func indexOf(k []klaxon.EventKind, want klaxon.EventKind) int {
	for i, v := range k {
		if v == want {
			return i
		}
	}
	return -1
}

// TestStormIsBundled opens 50 incidents at once: alice gets one SMS at
// once, then one bundle per limit for the rest, and every incident
// records her page.
func TestStormIsBundled(t *testing.T) {
	p := startPhones(t, "      - {via: sms, after: 0s}", "  limits: {sms: 2s}\n")
	body := string(mustRead(t, "firing-one-alert.json"))
	for i := range 50 {
		one := strings.ReplaceAll(body, "DiskFull", fmt.Sprintf("DiskFull%02d", i))
		one = strings.ReplaceAll(one, "eaf09244f2c30009", fmt.Sprintf("eaf09244f2c300%02d", i))
		code, out := post(t, p.base+"/v1/ingest/alertmanager", amToken, "application/json", []byte(one))
		require.Equal(t, http.StatusOK, code, out)
	}
	incidents := listIncidents(t, p.base, "open")
	require.Len(t, incidents, 50)

	paged := func() int {
		n := 0
		for _, inc := range listIncidents(t, p.base, "open") {
			if !inc.PagedAt.IsZero() {
				n++
			}
		}
		return n
	}
	require.Eventually(t, func() bool { return paged() == 50 }, 30*time.Second, 50*time.Millisecond, "every incident records alice's page")

	msgs := p.twilio.Messages()
	require.GreaterOrEqual(t, len(msgs), 2)
	require.LessOrEqual(t, len(msgs), 4, "one SMS, then a bundle per limit")
	bundled := 0
	for _, m := range msgs[1:] {
		var n int
		_, err := fmt.Sscanf(m.Body, "%d incidents for alice", &n)
		require.NoError(t, err, m.Body)
		require.LessOrEqual(t, len(m.Body), 160)
		bundled += n
	}
	require.GreaterOrEqual(t, bundled, 49, "the bundles stand for every incident after the first")
	// That they go out a limit apart, and not before, is timed on
	// Klaxon's own clock in klaxontest's TestStormIsBundledOnTime: here
	// Twilio takes each SMS a moment after Klaxon sent it, a moment that
	// varies by more than 100 ms on a loaded machine (a loaded run saw
	// two SMS taken 1.843 s apart, with a limit of 2 s).
}

// TestTwilioReplaysActOnce: a signed SMS reply or key press delivered
// again (a replay, or Twilio's own retry) acts once.
func TestTwilioReplaysActOnce(t *testing.T) {
	p := startPhones(t, "      - {via: sms, after: 0s}\n      - {via: voice, after: 0s}")
	inc := p.open(t)
	sms := p.twilio.WaitSMS(t, alicePhone)
	escalations := func() int {
		n := 0
		for _, e := range getIncident(t, p.base, inc.ID).Timeline {
			if e.Kind == klaxon.EventEscalated && e.By == "alice" {
				n++
			}
		}
		return n
	}

	reply := url.Values{"MessageSid": {"SM" + strings.Repeat("7", 32)}, "From": {alicePhone}, "To": {sms.From}, "Body": {inc.ID + "E"}}
	for range 3 {
		res := p.twilio.Post(t, p.base+twilio.SMSPath, reply, "")
		require.Equal(t, http.StatusOK, res.Status)
	}
	require.Equal(t, 1, escalations(), "one escalation for one message, however often delivered")

	call := p.twilio.WaitCall(t, alicePhone)
	gather := p.answer(t, call)
	res := p.twilio.Gather(t, gather, call.SID, "3")
	require.Contains(t, res.Body, "escalated")
	res = p.twilio.Gather(t, gather, call.SID, "3")
	require.Contains(t, res.Body, "That key was taken already")
	require.Equal(t, 2, escalations(), "the message's and the key press's, once each")
}

// TestKeyPressOnlyForItsPage: a key press acts only for the person the
// call's page went to, by voice: a callback naming another page (here
// the SMS) changes nothing.
func TestKeyPressOnlyForItsPage(t *testing.T) {
	p := startPhones(t, "      - {via: sms, after: 0s}\n      - {via: voice, after: 0s}")
	inc := p.open(t)
	sms := p.twilio.WaitSMS(t, alicePhone)
	call := p.twilio.WaitCall(t, alicePhone)
	gather := p.answer(t, call)

	smsN := regexp.MustCompile(`[?&]n=(\d+)`).FindStringSubmatch(sms.StatusCallback)
	callN := regexp.MustCompile(`[?&]n=(\d+)`).FindStringSubmatch(gather)
	require.NotNil(t, smsN, sms.StatusCallback)
	require.NotNil(t, callN, gather)
	require.NotEqual(t, smsN[1], callN[1])
	other := strings.Replace(gather, "n="+callN[1], "n="+smsN[1], 1)
	res := p.twilio.Gather(t, other, call.SID, "2")
	require.Contains(t, res.Body, "This call was not a page to you")
	require.Equal(t, klaxon.StateTriggered, p.state(t, inc.ID))

	res = p.twilio.Gather(t, gather, call.SID, "2")
	require.Contains(t, res.Body, "resolved")
	require.Equal(t, klaxon.StateResolved, p.state(t, inc.ID))
}

// answer picks up call as a person would, and returns where its key
// presses go (the Gather action).
func (p *phoneRig) answer(t *testing.T, call twiliotest.Call) string {
	t.Helper()
	// Answered once Klaxon recorded the call as sent: the fake places it
	// at once, where a phone rings for seconds, and a call Klaxon has not
	// recorded yet is no page to act on.
	u, err := url.Parse(call.URL)
	require.NoError(t, err)
	id, n := u.Query().Get("incident"), u.Query().Get("n")
	waitFor(t, "call "+n+" of incident "+id+" recorded as sent", func() bool {
		for _, e := range getIncident(t, p.base, id).Timeline {
			if e.Kind == klaxon.EventPageSent && strconv.Itoa(e.Notification) == n {
				return true
			}
		}
		return false
	})
	answered := url.Values{"CallSid": {call.SID}, "CallStatus": {"in-progress"}, "AnsweredBy": {"human"}, "To": {call.To}, "From": {call.From}}
	res := p.twilio.Post(t, call.URL, answered, "")
	action := regexp.MustCompile(`action="([^"]+)"`).FindStringSubmatch(res.Body)
	require.NotNil(t, action, res.Body)
	return strings.ReplaceAll(action[1], "&amp;", "&")
}
