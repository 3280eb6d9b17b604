package httpstatus_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/httpstatus"
)

func TestOf(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want int
	}{
		{"invalid", klaxon.Invalid("x", "bad"), http.StatusBadRequest},
		{"unauthorized", fmt.Errorf("token: %w", klaxon.ErrUnauthorized), http.StatusUnauthorized},
		{"not found", fmt.Errorf("incident 7: %w", klaxon.ErrNotFound), http.StatusNotFound},
		{"conflict", fmt.Errorf("incident 7: %w", klaxon.ErrConflict), http.StatusConflict},
		{"used", fmt.Errorf("link: %w", klaxon.ErrUsed), http.StatusGone},
		{"outdated", fmt.Errorf("incident 7: page 1 was sent before it triggered again: %w", klaxon.ErrOutdated), http.StatusGone},
		{"too large", fmt.Errorf("body: %w", klaxon.ErrTooLarge), http.StatusRequestEntityTooLarge},
		{"body over its limit", &http.MaxBytesError{Limit: 10}, http.StatusRequestEntityTooLarge},
		{"store down", fmt.Errorf("commit: %w", klaxon.ErrUnavailable), http.StatusServiceUnavailable},
		{"store too slow for the request's deadline", fmt.Errorf("commit group g: %w", context.DeadlineExceeded), http.StatusServiceUnavailable},
		{"client went away", fmt.Errorf("commit: %w", context.Canceled), httpstatus.ClientClosed},
		{"anything else", fmt.Errorf("render: boom"), http.StatusInternalServerError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, httpstatus.Of(tt.err))
		})
	}
}
