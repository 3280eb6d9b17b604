package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon/internal/browsertest"
	"github.com/klaxonhq/klaxon/web"
)

// TestSignInOverPlainHTTPWithHTTPSPublicURL: public_url is https (set,
// or taken from a TLS listener that serves ack), so the session cookie
// is Secure whatever the request says. A console also served on a
// private plain-HTTP listener, the one that serves the API, where API
// tokens (and so admin) sign in, reached at an internal name or
// address, took the token and answered with a cookie the browser drops:
// a Secure cookie set over plain HTTP is ignored. The right token then
// led back to the sign-in form, without a word, for good. The browser
// must come back signed in.
func TestSignInOverPlainHTTPWithHTTPSPublicURL(t *testing.T) {
	r := newRig(t, func(o *web.Options) { o.Secure = true })
	id := r.Open(t, "db")
	// klaxon.internal is the rig's loopback server under a name that is
	// not localhost: a private listener's address on the office network.
	port := r.srv.URL[strings.LastIndex(r.srv.URL, ":")+1:]
	base := "http://klaxon.internal:" + port
	ctx := browsertest.New(t, chromedp.Flag("host-resolver-rules", "MAP klaxon.internal 127.0.0.1"))
	require.Equal(t, http.StatusOK, open(t, ctx, base+"/incidents/"+id))
	require.Equal(t, base+"/login?next=%2Fincidents%2F"+id, location(t, ctx))
	require.NoError(t, chromedp.Do(ctx, chromedp.SendKeys(chromedp.ID("token"), adminToken)))
	require.Equal(t, http.StatusOK, submit(t, ctx, chromedp.CSS("form button[type=submit]")))
	require.Equal(t, base+"/incidents/"+id, location(t, ctx), "signed in over plain HTTP")
}

// TestSessionCookieSecureByTheBrowsersOrigin: with public_url https,
// a sign-in from a page the browser has on https (behind a proxy that
// ends TLS and says nothing of it) gets a Secure cookie; one from a
// page on plain HTTP, which sent the token in the clear and would drop
// a Secure cookie, gets one without it; one that names no origin gets
// it Secure.
func TestSessionCookieSecureByTheBrowsersOrigin(t *testing.T) {
	r := newRig(t, func(o *web.Options) { o.Secure = true })
	for _, tt := range []struct {
		origin string
		secure bool
	}{
		{"https://klaxon.example.com", true},
		{"", true},
		{"null", true},
		{"http://klaxon.internal:9090", false},
		{"HTTP://10.0.0.5:9090", false},
	} {
		t.Run(tt.origin, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodPost, r.srv.URL+"/login", strings.NewReader(url.Values{"token": {actToken}}.Encode()))
			require.NoError(t, err)
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Sec-Fetch-Site", "same-origin")
			if tt.origin != "" {
				req.Header.Set("Origin", tt.origin)
			}
			resp, err := http.DefaultTransport.RoundTrip(req)
			require.NoError(t, err)
			resp.Body.Close()
			require.Equal(t, http.StatusSeeOther, resp.StatusCode)
			cookies := resp.Cookies()
			require.Len(t, cookies, 1)
			require.Equal(t, tt.secure, cookies[0].Secure)
		})
	}
}
