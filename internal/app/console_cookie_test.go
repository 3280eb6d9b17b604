package app

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon/config"
	"github.com/klaxonhq/klaxon/internal/authlimit"
)

// TestConsoleCookieSecureWhenPublicURLIsHTTPS: with public_url https,
// responders reach the console over TLS, most often through a proxy
// that ends it and forwards plain HTTP; a proxy left as it comes (nginx's
// proxy_pass, a cloud load balancer's TCP mode) sends no
// X-Forwarded-Proto. The session cookie is Secure all the same, so that
// a browser never sends it over plain HTTP, where anyone on the path
// reads it (an http:// link, a downgrade). With public_url http it is
// not: a Secure cookie set over plain HTTP is dropped, and nobody could
// sign in.
func TestConsoleCookieSecureWhenPublicURLIsHTTPS(t *testing.T) {
	for _, tt := range []struct {
		publicURL string
		secure    bool
	}{
		{"https://klaxon.example.com", true},
		{"http://klaxon.example.com", false},
	} {
		t.Run(tt.publicURL, func(t *testing.T) {
			path := writeConfig(t)
			rewrite(t, path, "notify:", "public_url: "+tt.publicURL+"\napi:\n  tokens:\n    - {name: ops, token: ops-token-0123456, scopes: [admin]}\nnotify:")
			cfg, err := config.Load(path, nil)
			require.NoError(t, err)
			c, err := newConsole(newRuntime(cfg, nil), nil, nil, authlimit.New(time.Now), time.Now, slog.New(slog.DiscardHandler))
			require.NoError(t, err)

			// As the proxy forwards the sign-in: plain HTTP, no
			// X-Forwarded-Proto.
			req := httptest.NewRequest(http.MethodPost, "http://127.0.0.1:8080/login", strings.NewReader("token=ops-token-0123456"))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			rec := httptest.NewRecorder()
			c.ServeHTTP(rec, req)
			require.Equal(t, http.StatusSeeOther, rec.Code, rec.Body.String())
			cookies := rec.Result().Cookies()
			require.Len(t, cookies, 1)
			require.Equal(t, tt.secure, cookies[0].Secure, "the session cookie's Secure")
		})
	}
}
