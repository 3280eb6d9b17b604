package webhook

import (
	"net/http"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
)

// TestUnavailableRetryAfter: a receiver down for maintenance answers 503
// with a Retry-After, which "indicates how long the service is expected
// to be unavailable" (RFC 9110, 10.2.3). Send heeds it as a 429's: a
// wait past notify.MaxInlineWait ends the try at once, and the engine
// tries again no sooner. Ignored, it had Send post twice more within
// 300 ms, and the engine try again in 10 s and 20 s: a receiver asking
// for 30 s got every page nine times in 34 s.
func TestUnavailableRetryAfter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := &receiver{answers: []answer{{status: http.StatusServiceUnavailable, body: "maintenance", header: map[string]string{"Retry-After": "30"}}}}
		w, err := New(Options{URL: "https://hooks.example.com/klaxon", HTTPClient: &http.Client{Transport: inProcess{http.HandlerFunc(r.serve)}}})
		require.NoError(t, err)

		err = w.Send(t.Context(), page)
		require.Equal(t, 1, len(r.requests()), "posts within the receiver's Retry-After")
		require.Equal(t, 30*time.Second, klaxon.WaitOf(err), "the wait the engine is asked for")
	})
}
