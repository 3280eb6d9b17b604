package twilio_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/twiliotest"
	"github.com/klaxonhq/klaxon/notify/twilio"
)

// callbacks serves Twilio callbacks that only check the signature, as if
// Klaxon were reached at publicURL ("" for the server's own URL). Each
// accepted form is sent to the returned channel.
func callbacks(t *testing.T, publicURL string) (string, <-chan url.Values) {
	t.Helper()
	got := make(chan url.Values, 10)
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		base := publicURL
		if base == "" {
			base = srv.URL
		}
		form, err := twilio.Validate(r, base, twiliotest.AuthToken)
		switch {
		case errors.Is(err, klaxon.ErrUnauthorized):
			http.Error(w, err.Error(), http.StatusUnauthorized)
		case err != nil:
			http.Error(w, err.Error(), http.StatusBadRequest)
		default:
			got <- form
			w.WriteHeader(http.StatusNoContent)
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL, got
}

var fixtures = []struct{ file, path string }{
	{"testdata/inbound-sms.txt", twilio.SMSPath},
	{"testdata/message-status.txt", twilio.StatusPath + "?incident=4&n=1"},
	{"testdata/call-status.txt", twilio.StatusPath + "?incident=4&n=2"},
	{"testdata/voice-gather.txt", twilio.VoicePath + "?incident=4&n=2&step=gather"},
}

func TestValidateAcceptsSigned(t *testing.T) {
	tw := twiliotest.Start(t)
	base, got := callbacks(t, "")
	for _, f := range fixtures {
		t.Run(f.file, func(t *testing.T) {
			form := twiliotest.ReadForm(t, f.file)
			resp := tw.Post(t, base+f.path, form, "")
			require.Equal(t, http.StatusNoContent, resp.Status, resp.Body)
			require.Equal(t, form, <-got)
		})
	}
}

func TestValidateBehindProxy(t *testing.T) {
	tw := twiliotest.Start(t)
	const public = "https://klaxon.example.com"
	base, got := callbacks(t, public+"/")
	form := twiliotest.ReadForm(t, "testdata/inbound-sms.txt")

	// Twilio signs the public URL; Klaxon sees its own address.
	resp := tw.Post(t, base+twilio.SMSPath, form, tw.Sign(public+twilio.SMSPath, form))
	require.Equal(t, http.StatusNoContent, resp.Status, resp.Body)
	<-got

	// Twilio may sign with the default port spelled out.
	resp = tw.Post(t, base+twilio.SMSPath, form, tw.Sign("https://klaxon.example.com:443"+twilio.SMSPath, form))
	require.Equal(t, http.StatusNoContent, resp.Status, resp.Body)
	<-got

	// The address Klaxon sees is not what Twilio signed.
	resp = tw.Post(t, base+twilio.SMSPath, form, "")
	require.Equal(t, http.StatusUnauthorized, resp.Status)
}

func TestValidateRejects(t *testing.T) {
	tw := twiliotest.Start(t)
	base, _ := callbacks(t, "")
	sms := twiliotest.ReadForm(t, "testdata/inbound-sms.txt")
	status := base + twilio.StatusPath + "?incident=4&n=1"
	msgStatus := twiliotest.ReadForm(t, "testdata/message-status.txt")

	forged := func(rawURL string, form url.Values) string {
		return twiliotest.Sign("ffffffffffffffffffffffffffffffff", rawURL, form)
	}

	tests := []struct {
		name string
		url  string
		form url.Values
		sig  string
	}{
		{"signed with another token", base + twilio.SMSPath, sms, forged(base+twilio.SMSPath, sms)},
		{"body altered", base + twilio.SMSPath, with(sms, "Body", "4r"), tw.Sign(base+twilio.SMSPath, sms)},
		{"sender altered", base + twilio.SMSPath, with(sms, "From", "+15550100002"), tw.Sign(base+twilio.SMSPath, sms)},
		{"field added", base + twilio.SMSPath, with(sms, "Extra", "1"), tw.Sign(base+twilio.SMSPath, sms)},
		{"field removed", base + twilio.SMSPath, without(sms, "NumMedia"), tw.Sign(base+twilio.SMSPath, sms)},
		{"status altered", status, with(msgStatus, "MessageStatus", "delivered"), tw.Sign(status, msgStatus)},
		{"query altered", base + twilio.StatusPath + "?incident=5&n=1", msgStatus, tw.Sign(status, msgStatus)},
		{"path altered", base + twilio.SMSPath, msgStatus, tw.Sign(status, msgStatus)},
		{"garbage signature", base + twilio.SMSPath, sms, "bm90IGEgc2lnbmF0dXJl"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := tw.Post(t, tt.url, tt.form, tt.sig)
			require.Equal(t, http.StatusUnauthorized, resp.Status, resp.Body)
		})
	}

	t.Run("no signature", func(t *testing.T) {
		resp, err := http.Post(base+twilio.SMSPath, "application/x-www-form-urlencoded", strings.NewReader(sms.Encode()))
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	})
}

func TestValidateErrors(t *testing.T) {
	r := httptest.NewRequest(http.MethodPost, "/v1/twilio/sms", strings.NewReader("Body=4a"))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	_, err := twilio.Validate(r, "https://klaxon.example.com", twiliotest.AuthToken)
	require.ErrorIs(t, err, klaxon.ErrUnauthorized)
	require.ErrorContains(t, err, "X-Twilio-Signature")

	r = httptest.NewRequest(http.MethodPost, "/v1/twilio/sms", strings.NewReader("Body=%zz"))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	_, err = twilio.Validate(r, "https://klaxon.example.com", twiliotest.AuthToken)
	require.ErrorIs(t, err, klaxon.ErrInvalid)

	r = httptest.NewRequest(http.MethodPost, "/v1/twilio/sms", strings.NewReader("Body="+strings.Repeat("a", 70<<10)))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	_, err = twilio.Validate(r, "https://klaxon.example.com", twiliotest.AuthToken)
	require.ErrorIs(t, err, klaxon.ErrTooLarge)
}

func with(form url.Values, k, v string) url.Values {
	out := url.Values{}
	for key, vs := range form {
		out[key] = append([]string(nil), vs...)
	}
	out.Set(k, v)
	return out
}

func without(form url.Values, k string) url.Values {
	out := with(form, k, "")
	out.Del(k)
	return out
}
