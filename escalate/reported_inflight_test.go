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

// inflightRetry is a phone whose first call fails in a way that the
// provider may have placed it; its second, the retry, waits for release
// and then ends with end.
type inflightRetry struct {
	tries   atomic.Int64
	release chan struct{}
	end     error
}

func (p *inflightRetry) Notify(ctx context.Context, _ klaxon.Page) error {
	if p.tries.Add(1) == 1 {
		return providerError{retryable: true}
	}
	<-p.release
	return p.end
}

// TestReportedReachedWhileRetryInFlight: a call whose placing failed was
// placed all the same, and its report (completed: dana answered) lands
// while the page's retry is with the provider. Whatever becomes of the
// retry, dana was reached: a retry refused for good must not make the
// walk count her not reached (and page the fallback), and the notification
// does not come back to the outbox.
func TestReportedReachedWhileRetryInFlight(t *testing.T) {
	for _, tc := range []struct {
		name string
		end  error
	}{
		{"the retry went out", nil},
		{"the retry failed, to be tried again", providerError{retryable: true}},
		{"the retry was refused", providerError{retryable: false}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ph := &inflightRetry{release: make(chan struct{}), end: tc.end}
				st, e := danaOrCarol(t, ph, nil)
				id := openIncident(t, st, danaPolicy(0), time.Now())
				e.Wake()
				synctest.Wait()
				inc, err := st.Incident(t.Context(), id)
				require.NoError(t, err)
				require.Len(t, inc.Pending, 1)
				n := inc.Pending[0].ID
				time.Sleep(10 * time.Second) // the retry
				synctest.Wait()
				require.EqualValues(t, 2, ph.tries.Load(), "the retry is in flight")

				require.NoError(t, e.Delivery(t.Context(), id, n, true, "completed"))
				close(ph.release)
				time.Sleep(20 * time.Minute)
				synctest.Wait()

				timeline, err := klaxon.ReadTimeline(t.Context(), st, id)
				require.NoError(t, err)
				text := strings.Join(timelineText(timeline), "\n")
				require.EqualValues(t, 2, ph.tries.Load(), text)
				require.Zero(t, count(timeline, klaxon.EventFallback), "dana answered: %s", text)
				inc, err = st.Incident(t.Context(), id)
				require.NoError(t, err)
				require.Empty(t, inc.Pending, text)
				require.True(t, inc.Escalation.Reached, text)
			})
		})
	}
}
