package twiliotest_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/twilio/twilio-go/client"

	"github.com/klaxonhq/klaxon/internal/twiliotest"
)

func post(t *testing.T, s *twiliotest.Server, path, user, pass string, form url.Values) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, s.URL+path, strings.NewReader(form.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var body map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
	return resp.StatusCode, body
}

func TestRESTAPI(t *testing.T) {
	s := twiliotest.Start(t)
	messages := "/2010-04-01/Accounts/" + s.AccountSID + "/Messages.json"
	sms := url.Values{"To": {"+15550100001"}, "From": {"+15550100000"}, "Body": {"hi"}}

	tests := []struct {
		name       string
		path       string
		user, pass string
		form       url.Values
		status     int
		code       float64
	}{
		{"no credentials", messages, "", "", sms, 401, 20003},
		{"wrong token", messages, s.AccountSID, "nope", sms, 401, 20003},
		{"other account", "/2010-04-01/Accounts/AC9/Messages.json", s.AccountSID, s.AuthToken, sms, 404, 20404},
		{"no body", messages, s.AccountSID, s.AuthToken, url.Values{"To": {"+15550100001"}, "From": {"+1555"}}, 400, 21602},
		{"bad number", messages, s.AccountSID, s.AuthToken, url.Values{"To": {"12"}, "From": {"+1555"}, "Body": {"x"}}, 400, 21211},
		{"no url", "/2010-04-01/Accounts/" + s.AccountSID + "/Calls.json", s.AccountSID, s.AuthToken, sms, 400, 21205},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := post(t, s, tt.path, tt.user, tt.pass, tt.form)
			require.Equal(t, tt.status, status)
			require.Equal(t, tt.code, body["code"])
			require.Equal(t, float64(tt.status), body["status"])
		})
	}
	require.Empty(t, s.Messages())

	status, body := post(t, s, messages, s.AccountSID, s.AuthToken, sms)
	require.Equal(t, http.StatusCreated, status)
	require.Equal(t, "queued", body["status"])
	require.Regexp(t, `^SM[0-9a-f]{32}$`, body["sid"])
}

func TestFailAndWait(t *testing.T) {
	s := twiliotest.Start(t)
	messages := "/2010-04-01/Accounts/" + s.AccountSID + "/Messages.json"
	s.Fail("+15550100001", 429, 20429, 1)
	send := func(body string) int {
		status, _ := post(t, s, messages, s.AccountSID, s.AuthToken,
			url.Values{"To": {"+15550100001"}, "From": {"+15550100000"}, "Body": {body}})
		return status
	}
	require.Equal(t, 429, send("first"))
	require.Equal(t, 201, send("second"))
	require.Equal(t, 201, send("third"))
	require.Equal(t, 3, s.Attempts("+15550100001"))
	require.Equal(t, "second", s.WaitSMS(t, "+15550100001").Body)
	require.Equal(t, []string{`SMS to +15550100001: "third"`}, s.Untaken(), "what no Wait took")
	require.Equal(t, "third", s.WaitSMS(t, "+15550100001").Body)
	require.Empty(t, s.Untaken())

	done := make(chan struct{})
	go func() {
		defer close(done)
		send("later")
	}()
	require.Equal(t, "later", s.WaitSMS(t, "+15550100001").Body)
	<-done
}

// The fake signs as Twilio does: twilio-go's validator agrees.
func TestSignAgreesWithTwilioGo(t *testing.T) {
	form := twiliotest.ReadForm(t, "testdata/voice-gather.txt")
	require.Equal(t, "1", form.Get("Digits"))
	params := map[string]string{}
	for k, v := range form {
		params[k] = v[0]
	}
	const u = "https://klaxon.example.com/v1/twilio/voice?incident=4&n=2&step=gather"
	v := client.NewRequestValidator(twiliotest.AuthToken)
	require.True(t, v.Validate(u, params, twiliotest.Sign(twiliotest.AuthToken, u, form)))
	require.False(t, v.Validate(u, params, twiliotest.Sign("other", u, form)))
}

// TestHold: a held request is answered and recorded once released, and
// the next is not held.
func TestHold(t *testing.T) {
	s := twiliotest.Start(t)
	messages := "/2010-04-01/Accounts/" + s.AccountSID + "/Messages.json"
	sms := url.Values{"To": {"+15550100001"}, "From": {"+15550100000"}, "Body": {"held"}}

	arrived, release := s.Hold("+15550100001")
	status := make(chan int, 1)
	go func() {
		code, _ := post(t, s, messages, s.AccountSID, s.AuthToken, sms)
		status <- code
	}()
	<-arrived
	require.Empty(t, s.Messages(), "held, not yet recorded")
	release()
	require.Equal(t, http.StatusCreated, <-status)
	require.Equal(t, "held", s.WaitSMS(t, "+15550100001").Body)

	require.Equal(t, http.StatusCreated, sendOne(t, s, messages, sms), "the hold was for one request")
	require.Len(t, s.Messages(), 2)
}

func sendOne(t *testing.T, s *twiliotest.Server, path string, form url.Values) int {
	t.Helper()
	code, _ := post(t, s, path, s.AccountSID, s.AuthToken, form)
	return code
}
