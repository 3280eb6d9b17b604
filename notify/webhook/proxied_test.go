package webhook

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
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
	var r resetter
	upstream := httptest.NewServer(&r)
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
	require.Equal(t, 1, r.taken(), "the receiver took the page this many times in one try")
}
