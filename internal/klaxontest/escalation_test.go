package klaxontest_test

import (
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/api"
	"github.com/klaxonhq/klaxon/internal/klaxontest"
)

const (
	alicePhone = "+15550100001"
	bobMail    = "bob@example.com"
)

// twoSteps pages alice by SMS (and by voice after a minute, with voice),
// then bob by mail, five minutes a step, three times over.
func twoSteps(voice bool) klaxontest.Config {
	alice := klaxontest.User{ID: "alice", Name: "Alice Chen", Phone: alicePhone, Notify: []klaxontest.Rule{klaxontest.SMS(0)}}
	if voice {
		alice.Notify = append(alice.Notify, klaxontest.Voice(time.Minute))
	}
	return klaxontest.Config{
		Policies: []klaxontest.Policy{{Name: "oncall", Repeat: 2, Steps: []klaxontest.Step{
			{Targets: []string{"user:alice"}, EscalateAfter: 5 * time.Minute},
			{Targets: []string{"user:bob"}, EscalateAfter: 5 * time.Minute},
		}}},
		Users: []klaxontest.User{alice, {ID: "bob", Email: bobMail, Notify: []klaxontest.Rule{klaxontest.Email(0)}}},
	}
}

// firing is Alertmanager's webhook of two HighErrorRate alerts of
// service payments.
func firing(t *testing.T) []byte {
	b, err := os.ReadFile(filepath.Join("testdata", "firing-two-alerts.json"))
	require.NoError(t, err)
	return b
}

// paged starts Klaxon with twoSteps(voice), opens an incident, and takes
// alice's first SMS.
func paged(t *testing.T, voice bool) (*klaxontest.Harness, *api.IncidentView, klaxontest.Phone) {
	t.Helper()
	h := klaxontest.Start(t, twoSteps(voice))
	h.Alertmanager(firing(t))
	inc := h.OpenIncident("HighErrorRate")
	alice := h.Phone(alicePhone)
	alice.ExpectSMS("#"+inc.ID, "5xx ratio above 5% on payments")
	return h, inc, alice
}

// TestEscalationStopsAtTheAck: each step pages when its time comes and
// not before; once acknowledged, nobody is paged again, however long
// the clock runs (the harness fails on any page nobody expected).
func TestEscalationStopsAtTheAck(t *testing.T) {
	h, inc, _ := paged(t, false)

	h.FastForward(5*time.Minute - time.Second)
	require.Empty(t, h.SMTP.Messages(), "step two waits escalate_after")
	h.FastForward(time.Second)
	h.ExpectMail(bobMail)

	code, out := h.Do(http.MethodPost, "/v1/incidents/"+inc.ID+"/ack", map[string]string{"by": "alice"})
	require.Equal(t, http.StatusOK, code, "%s", out)
	h.FastForward(time.Hour)
	require.Equal(t, klaxon.StateAcknowledged, h.Incident(inc.ID).State)
}

// TestSMSReplyDropsTheCall: alice's rules text her at once and call her
// a minute later; her reply acknowledges, and the call never comes.
func TestSMSReplyDropsTheCall(t *testing.T) {
	h, inc, alice := paged(t, true)

	res := alice.Reply(inc.ID + "a")
	require.Equal(t, http.StatusOK, res.Status)
	require.Contains(t, res.Body, "Acknowledged #"+inc.ID)
	h.FastForward(10 * time.Minute) // past the call, and past step two
	require.Empty(t, h.Twilio.Calls())
}

// TestCallComesAfterItsDelay: without a reply, the call comes a minute
// into the page, not before: FastForward is what moves the pages on.
func TestCallComesAfterItsDelay(t *testing.T) {
	h, inc, alice := paged(t, true)

	h.FastForward(time.Minute - time.Second)
	require.Empty(t, h.Twilio.Calls(), "the call waits its minute")
	h.FastForward(time.Second)
	alice.ExpectCall()
	code, out := h.Do(http.MethodPost, "/v1/incidents/"+inc.ID+"/resolve", map[string]string{"by": "alice"})
	require.Equal(t, http.StatusOK, code, "%s", out)
	h.FastForward(time.Hour)
}

// TestOverdueStepPagesAtStart: a step that fell due while Klaxon was
// down pages as Klaxon starts again, without waiting another
// escalate_after (the clock does not move after the restart).
func TestOverdueStepPagesAtStart(t *testing.T) {
	h, inc, _ := paged(t, false)
	h.Stop()
	h.Clock.Add(7 * time.Minute) // step two was due at 5 min
	h.Restart()
	h.ExpectMail(bobMail)
	got := h.Incident(inc.ID)
	require.Equal(t, 1, got.Escalation.Step, "step two, paged once")
	h.FastForward(5 * time.Minute) // the policy goes on: its second round
	h.Phone(alicePhone).ExpectSMS("#" + inc.ID)
	h.Do(http.MethodPost, "/v1/incidents/"+inc.ID+"/resolve", map[string]string{"by": "alice"})
}
