package escalate_test

import (
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/escalate"
	"github.com/klaxonhq/klaxon/notify"
	"github.com/klaxonhq/klaxon/notify/twilio"
)

// hangOnce is Twilio's API whose first call hangs until its request
// gives up, and whose later calls take the message.
type hangOnce struct {
	mu    sync.Mutex
	calls int
}

func (h *hangOnce) RoundTrip(req *http.Request) (*http.Response, error) {
	h.mu.Lock()
	h.calls++
	n := h.calls
	h.mu.Unlock()
	if req.Body != nil {
		_, _ = io.Copy(io.Discard, req.Body)
	}
	if n == 1 {
		<-req.Context().Done()
		return nil, req.Context().Err()
	}
	return &http.Response{StatusCode: 201, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(strings.NewReader(`{"sid":"SM1","status":"queued"}`)), Request: req}, nil
}

func (h *hangOnce) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.calls
}

// TestHungTwilioPageIsTriedAgain: a page that hangs is given up after
// the page timeout, then tried again (README, Options.PageTimeout).
// alice's SMS goes through the real Twilio channel, whose first request
// hangs: at the page timeout (30 s) it counts as a failed try, and is
// tried again after the backoff (10 s). Before, the channel read the end
// of its context as its caller giving up, the try failed for good, and
// alice's next rule was due at once.
func TestHungTwilioPageIsTriedAgain(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := openStore(t)
		api := &hangOnce{}
		tw, err := twilio.New(twilio.Options{AccountSID: "AC1", AuthToken: "token", From: "+15550100000",
			APIURL: "https://api.twilio.test", PublicURL: "https://klaxon.test", HTTPClient: &http.Client{Transport: api}})
		require.NoError(t, err)
		dispatch := notify.NewDispatcher(map[string]notify.Channel{klaxon.ViaSMS: tw.SMS()}, notify.NewConsole(quiet))
		o := escalate.Options{Lease: 15 * time.Second, PageTimeout: 30 * time.Second,
			Retry: escalate.Backoff{First: 10 * time.Second, Max: time.Minute}}
		_, id := startPaging(t, st, dispatch, smsOnly, o)

		time.Sleep(45 * time.Second) // timed out at 30 s; tried again at 40 s
		synctest.Wait()
		timeline, err := klaxon.ReadTimeline(t.Context(), st, id)
		require.NoError(t, err)
		require.Equal(t, 2, api.count(), "the hung SMS is tried again after the backoff; timeline: %v", smsEvents(timeline))
	})
}
