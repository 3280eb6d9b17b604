package escalate_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
)

// slowMaybePlacedDana is slowMaybePlaced that counts dana's tries apart
// from the fallback's pages.
type slowMaybePlacedDana struct {
	dana    atomic.Int64
	release chan struct{}
}

func (p *slowMaybePlacedDana) Notify(_ context.Context, pg klaxon.Page) error {
	if pg.User.ID != "dana" {
		return nil
	}
	if p.dana.Add(1) == 1 {
		<-p.release
		return providerError{retryable: true}
	}
	return nil
}

// TestMaybePlacedCopyReportedReachedAfterAnotherNot: dana's first page
// is an SMS whose request timed out and was made again inline, each
// copy sent by the provider, while the try is with it: the provider
// reports the first copy undelivered, then the second delivered, and
// then the try fails in a way that says it may have gone out. It did go
// out: it is recorded sent, once, and not tried again, which would page
// her once more.
func TestMaybePlacedCopyReportedReachedAfterAnotherNot(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ph := &slowMaybePlacedDana{release: make(chan struct{})}
		st, e := danaOrCarol(t, ph, nil)
		id := openIncident(t, st, danaPolicy(0), time.Now())
		e.Wake()
		synctest.Wait()
		require.EqualValues(t, 1, ph.dana.Load())
		inc, err := st.Incident(t.Context(), id)
		require.NoError(t, err)
		require.Len(t, inc.Pending, 1)
		n := inc.Pending[0].ID

		time.Sleep(3 * time.Second)
		require.NoError(t, e.Delivery(t.Context(), id, n, false, "undelivered"))
		time.Sleep(2 * time.Second)
		require.NoError(t, e.Delivery(t.Context(), id, n, true, "delivered"))
		time.Sleep(5 * time.Second)
		close(ph.release)

		time.Sleep(20 * time.Minute)
		synctest.Wait()
		timeline, err := klaxon.ReadTimeline(t.Context(), st, id)
		require.NoError(t, err)
		text := strings.Join(timelineText(timeline), "\n")
		require.EqualValues(t, 1, ph.dana.Load(), "dana's page went out, and was tried again: %s", text)
		sent := 0
		for _, ev := range timeline {
			if ev.Kind == klaxon.EventPageSent && ev.User == "dana" {
				sent++
			}
		}
		require.Equal(t, 1, sent, text)
	})
}
