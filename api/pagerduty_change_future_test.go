package api_test

import (
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
)

// TestChangeEnqueueFutureKeepsNoOneOut: changes stamped far in the
// future (a sender's clock gone wrong, or a routing key leaked), as many
// as an integration keeps, must not make every change that comes after
// them vanish: kept, they would be its newest for good, never aged, and
// each later change the oldest, dropped by its own put. A deploy sent as
// it happens, answered 202 "Change event processed", is kept and listed.
func TestChangeEnqueueFutureKeepsNoOneOut(t *testing.T) {
	r := newRig(t)
	base := r.changeServer(t, r.Store)
	const future = `{"routing_key":"rk","payload":{"summary":"from a clock gone wrong","timestamp":"9999-12-31T00:00:00Z"}}`
	var left atomic.Int64
	left.Store(int64(klaxon.DefaultChangeBounds.Count))
	send := func() error { // on a goroutine of its own: no require
		resp, err := http.Post(base+"/v2/change/enqueue", "application/json", strings.NewReader(future))
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		_, _ = io.Copy(io.Discard, resp.Body)
		if resp.StatusCode != http.StatusAccepted && resp.StatusCode != http.StatusBadRequest {
			return fmt.Errorf("answered %s", resp.Status) // taken, or refused for its time: either will do
		}
		return nil
	}
	var wg sync.WaitGroup
	for range 32 { // senders at once, as their changes share batches
		wg.Go(func() {
			for left.Add(-1) >= 0 {
				if err := send(); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	require.False(t, t.Failed())

	code, body, _ := sendChange(t, base, "application/json", `{"routing_key":"rk","payload":{"summary":"Deploy checkout-api 2026.11.23-3"}}`)
	require.Equal(t, http.StatusAccepted, code, body)
	got, err := r.Store.Changes(t.Context(), "tools", t0.Add(-time.Hour), t0, 10)
	require.NoError(t, err)
	require.True(t, slices.ContainsFunc(got, func(c klaxon.Change) bool { return c.Summary == "Deploy checkout-api 2026.11.23-3" }),
		"the deploy answered 202 is kept, the newest change of its time: %v", got)
}
