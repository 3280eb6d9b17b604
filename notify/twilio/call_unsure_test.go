package twilio

import (
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon/internal/porttest"
	"github.com/klaxonhq/klaxon/internal/twiliotest"
)

// timeoutError is a request whose answer did not come in time.
type timeoutError struct{}

func (timeoutError) Error() string   { return "read tcp: i/o timeout" }
func (timeoutError) Timeout() bool   { return true }
func (timeoutError) Temporary() bool { return true }

// placedThenLost carries requests to the fake Twilio, which takes them
// (it places the call), and loses the answers of the first lose of
// them: a timeout, or a 5xx Twilio answered after placing the call.
type placedThenLost struct {
	lose    atomic.Int32
	timeout bool
}

func (p *placedThenLost) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil || p.lose.Add(-1) < 0 {
		return resp, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	if p.timeout {
		return nil, timeoutError{}
	}
	return &http.Response{StatusCode: http.StatusInternalServerError, Status: "500 Internal Server Error", Request: req,
		Header: http.Header{"Content-Type": {"application/json"}}, ProtoMajor: 1, ProtoMinor: 1,
		Body: io.NopCloser(strings.NewReader(`{"code": 20500, "message": "Internal server error", "status": 500}`))}, nil
}

// unsureTwilio is a Twilio to fake whose first lose answers are lost as
// lost says.
func unsureTwilio(t *testing.T, fake *twiliotest.Server, lost *placedThenLost) *Twilio {
	t.Helper()
	tw, err := New(Options{AccountSID: fake.AccountSID, AuthToken: fake.AuthToken, From: from, APIURL: fake.URL, PublicURL: public,
		HTTPClient: &http.Client{Transport: lost}})
	require.NoError(t, err)
	tw.backoff = 0
	return tw
}

// eachLoss runs f in a subtest for each way the answer to a call Twilio
// placed is lost (a 5xx, a timeout), with a fake Twilio and lost, which
// loses the first answer so.
func eachLoss(t *testing.T, f func(t *testing.T, fake *twiliotest.Server, lost *placedThenLost)) {
	for _, timeout := range []bool{false, true} {
		name := "5xx"
		if timeout {
			name = "timeout"
		}
		t.Run(name, func(t *testing.T) {
			lost := &placedThenLost{timeout: timeout}
			lost.lose.Store(1)
			f(t, twiliotest.Start(t), lost)
		})
	}
}

// TestCallNotPlacedAgain: a call whose creation Twilio may have carried
// out though no answer said so (a timeout, a 5xx) is not asked for
// again at once: a second call would ring over the first, which is
// then busy and counts as not reached.
func TestCallNotPlacedAgain(t *testing.T) {
	eachLoss(t, func(t *testing.T, fake *twiliotest.Server, lost *placedThenLost) {
		err := unsureTwilio(t, fake, lost).Voice().Send(t.Context(), callPage)
		require.Len(t, fake.Calls(), 1, "the call was asked for again, and rang over the first")
		require.Error(t, err, "no answer said the call was placed")
		var e *Error
		require.ErrorAs(t, err, &e)
		require.True(t, e.MaybeSent(), "the error says the call may have been placed")
	})
}

// TestCallNotPlacedIsTriedAgain: a call that surely was not placed (a
// refusal to connect, a 429) is asked for again at once, as any request.
func TestCallNotPlacedIsTriedAgain(t *testing.T) {
	tw, err := New(Options{AccountSID: "AC1", AuthToken: "token", From: from, APIURL: "http://" + porttest.Refused(t), PublicURL: public})
	require.NoError(t, err)
	tw.backoff = 0
	p := callPage
	var e *Error
	require.ErrorAs(t, tw.Voice().Send(t.Context(), p), &e)
	require.False(t, e.MaybeSent(), "no connection: nothing was sent")
	require.True(t, e.Retryable())

	fake := twiliotest.Start(t)
	fake.Throttle(alice, "", 2)
	require.NoError(t, unsureTwilio(t, fake, &placedThenLost{}).Voice().Send(t.Context(), p))
	require.Equal(t, 3, fake.Attempts(alice))
	require.Len(t, fake.Calls(), 1)
}
