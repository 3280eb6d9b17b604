package api

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/httpstatus"
	"github.com/klaxonhq/klaxon/internal/logthin"
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
			writeError(rec, httptest.NewRequest(http.MethodGet, "/", nil), slog.New(slog.NewTextHandler(&logs, nil)), logthin.New(time.Now), tc.err)
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

// TestUnavailableLogsThinnedOut: a storm of 503s (a full disk) logs its
// first answer at once and then one line a second that counts the
// answers it stands for, while a 500 is logged every time.
func TestUnavailableLogsThinnedOut(t *testing.T) {
	var logs bytes.Buffer
	now := time.Date(2026, 11, 28, 3, 0, 0, 0, time.UTC)
	s := &Server{log: slog.New(slog.NewTextHandler(&logs, nil)), unavailable: logthin.New(func() time.Time { return now })}
	answer := func(err error) int {
		rec := httptest.NewRecorder()
		s.writeError(rec, httptest.NewRequest(http.MethodPost, "/v1/ingest/alertmanager", nil), err)
		return rec.Code
	}
	full := fmt.Errorf("commit group g: write the file: %w: no space left on device", klaxon.ErrUnavailable)
	for range 1000 {
		require.Equal(t, http.StatusServiceUnavailable, answer(full), "every sender is told to retry")
	}
	require.Equal(t, 1, strings.Count(logs.String(), "status=503"), logs.String())
	require.Contains(t, logs.String(), "unlogged=0")

	require.Equal(t, http.StatusInternalServerError, answer(errors.New("a bug")))
	require.Equal(t, http.StatusInternalServerError, answer(errors.New("a bug")))
	require.Equal(t, 2, strings.Count(logs.String(), "status=500"), "a 500 is logged every time")

	now = now.Add(999 * time.Millisecond)
	answer(full)
	require.Equal(t, 1, strings.Count(logs.String(), "status=503"), "within the second")
	now = now.Add(time.Millisecond)
	answer(full)
	require.Equal(t, 2, strings.Count(logs.String(), "status=503"))
	require.Contains(t, logs.String(), "unlogged=1000", "the second line counts the 999 and the one held back after")
}
