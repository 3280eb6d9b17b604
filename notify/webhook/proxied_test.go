package webhook

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestResetAfterTakenBehindProxy: "A receiver (or a proxy before it)
// that took the page and then reset the connection got it three times a
// try"; "A request sent whole that gets no answer (the connection reset,
// the timeout) is not posted again within the try: the receiver may have
// the page" (README). Behind a reverse proxy (nginx, a load balancer, an
// ingress: most receivers), the request is sent whole to the proxy, and
// the receiver's reset after taking the page comes back as the proxy's
// 502 Bad Gateway, an answer: posted again at once, 100 ms and 200 ms
// apart, the receiver gets the page three times a try, as before.
func TestResetAfterTakenBehindProxy(t *testing.T) {
	var mu sync.Mutex
	posts := 0
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		_, _ = io.ReadAll(req.Body) // the page is taken
		mu.Lock()
		posts++
		mu.Unlock()
		c, _, err := w.(http.Hijacker).Hijack()
		if err != nil {
			return
		}
		_ = c.(*net.TCPConn).SetLinger(0) // RST, not FIN
		_ = c.Close()
	}))
	t.Cleanup(upstream.Close)
	target, err := url.Parse(upstream.URL)
	require.NoError(t, err)
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.ErrorLog = nil
	rp.ErrorHandler = func(w http.ResponseWriter, _ *http.Request, _ error) { w.WriteHeader(http.StatusBadGateway) }
	proxy := httptest.NewServer(rp)
	t.Cleanup(proxy.Close)
	w := newWebhook(t, Options{URL: proxy.URL + "/hook", Format: FormatSlack})

	err = w.Send(t.Context(), page)
	require.Error(t, err)
	mu.Lock()
	defer mu.Unlock()
	require.Equal(t, 1, posts, "the receiver took the page this many times in one try")
}
