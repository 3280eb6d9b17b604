package api

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/httpstatus"
)

// TestClientGoneIsNoServerError: a request whose client went away is
// answered 499 and logged as such, never as a server error.
func TestClientGoneIsNoServerError(t *testing.T) {
	for name, tc := range map[string]struct {
		err   error
		code  int
		level string
	}{
		"client went away": {fmt.Errorf("commit alerts: %w", context.Canceled), httpstatus.ClientClosed, "INFO"},
		"store down":       {fmt.Errorf("commit: %w", klaxon.ErrUnavailable), http.StatusServiceUnavailable, "ERROR"},
		"bad input":        {klaxon.Invalid("x", "bad"), http.StatusBadRequest, ""},
	} {
		t.Run(name, func(t *testing.T) {
			var logs bytes.Buffer
			rec := httptest.NewRecorder()
			writeError(rec, httptest.NewRequest(http.MethodGet, "/", nil), slog.New(slog.NewTextHandler(&logs, nil)), tc.err)
			require.Equal(t, tc.code, rec.Code)
			if tc.code == http.StatusServiceUnavailable {
				require.Equal(t, "5", rec.Header().Get("Retry-After"), "a 503 says when to try again")
			}
			if tc.level == "" {
				require.Empty(t, logs.String())
			} else {
				require.Contains(t, logs.String(), "level="+tc.level)
			}
		})
	}
}
