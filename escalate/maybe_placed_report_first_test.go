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

// slowMaybePlaced is a phone whose first call to dana hangs until
// release and then fails in a way that the provider may have placed it
// all the same (a timeout, a 5xx); its later calls go out.
type slowMaybePlaced struct {
	tries   atomic.Int64
	release chan struct{}
}

func (p *slowMaybePlaced) Notify(_ context.Context, _ klaxon.Page) error {
	if p.tries.Add(1) == 1 {
		<-p.release
		return providerError{retryable: true}
	}
	return nil
}

// TestMaybePlacedReportedReachedBeforeItsTryEnded: dana's first page is
// with its provider, whose answer is slow in coming (an SMS's request
// that times out, and is made again inline, while the provider sent the
// first): the provider reports it delivered before the try ends, and
// then the try fails, in a way that says it may have gone out. It did,
// and reached dana: the page is sent, once, and not tried again, as
// when the report comes after the failed try (1ba3b78).
func TestMaybePlacedReportedReachedBeforeItsTryEnded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ph := &slowMaybePlaced{release: make(chan struct{})}
		st, e := danaOrCarol(t, ph, nil)
		id := openIncident(t, st, danaPolicy(0), time.Now())
		e.Wake()
		synctest.Wait()
		require.EqualValues(t, 1, ph.tries.Load())
		inc, err := st.Incident(t.Context(), id)
		require.NoError(t, err)
		require.Len(t, inc.Pending, 1)
		n := inc.Pending[0].ID

		time.Sleep(5 * time.Second)
		require.NoError(t, e.Delivery(t.Context(), id, n, true, "completed"))
		time.Sleep(5 * time.Second)
		close(ph.release)

		time.Sleep(20 * time.Minute)
		synctest.Wait()
		timeline, err := klaxon.ReadTimeline(t.Context(), st, id)
		require.NoError(t, err)
		text := strings.Join(timelineText(timeline), "\n")
		require.EqualValues(t, 1, ph.tries.Load(), "dana was reached, and paged again: %s", text)
		require.Equal(t, 1, count(timeline, klaxon.EventPageSent), text)
		require.Zero(t, count(timeline, klaxon.EventFallback), text)
		inc, err = st.Incident(t.Context(), id)
		require.NoError(t, err)
		require.Empty(t, inc.Pending, text)
		require.True(t, inc.Escalation.Reached, text)
		require.False(t, inc.PagedAt.IsZero(), text)
	})
}
