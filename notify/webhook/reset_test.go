package webhook

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/klaxonhq/klaxon/internal/porttest"
	"github.com/stretchr/testify/require"
)

// TestResetAfterTaken: a receiver (or a proxy before it) that takes the
// page and then resets the connection before answering has the page; the
// answer was lost. The try fails, and the engine tries the page again
// with its backoff (10 s, 20 s, ...), at least once more: one post a try.
// Posted twice more at once, 100 ms and 200 ms apart, as it was, a
// receiver that keeps resetting got every page three times in 300 ms,
// each try (twelve times in the first 75 s of a storm's 500 incidents).
func TestResetAfterTaken(t *testing.T) {
	var r resetter
	srv := httptest.NewServer(&r)
	t.Cleanup(srv.Close)
	w := newWebhook(t, Options{URL: srv.URL, Format: FormatSlack})

	err := w.Send(t.Context(), page)
	var e *Error
	require.ErrorAs(t, err, &e)
	require.Zero(t, e.Status, "no answer came")
	require.True(t, e.Retryable(), "the engine tries it again")
	require.True(t, e.Sent)
	require.ErrorContains(t, err, "webhook sent, no answer")
	require.Equal(t, 1, r.taken(), "the receiver took the page this many times in one try")
}

// resetter is a receiver that takes each page, then resets the
// connection before it answers.
type resetter struct {
	mu    sync.Mutex
	posts int
}

func (r *resetter) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	_, _ = io.ReadAll(req.Body) // the page is taken
	r.mu.Lock()
	r.posts++
	r.mu.Unlock()
	c, _, err := w.(http.Hijacker).Hijack()
	if err != nil {
		return
	}
	_ = c.(*net.TCPConn).SetLinger(0) // RST, not FIN
	_ = c.Close()
}

// taken is how many pages r took.
func (r *resetter) taken() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.posts
}

// TestRetriedBeforeSent: a request that never left (the connection
// refused) is tried again within the try, three times in all: the
// receiver cannot have the page.
func TestRetriedBeforeSent(t *testing.T) {
	addr := porttest.Refused(t)
	var dials atomic.Int32
	var d net.Dialer
	tr := &http.Transport{DialContext: func(ctx context.Context, network, address string) (net.Conn, error) {
		dials.Add(1)
		return d.DialContext(ctx, network, address)
	}}
	t.Cleanup(tr.CloseIdleConnections)
	w := newWebhook(t, Options{URL: "http://" + addr + "/hook", HTTPClient: &http.Client{Transport: tr}})

	err := w.Send(t.Context(), page)
	var e *Error
	require.ErrorAs(t, err, &e)
	require.False(t, e.Sent)
	require.True(t, e.Retryable())
	require.ErrorContains(t, err, "webhook unreachable")
	require.Equal(t, int32(attempts), dials.Load())
}
