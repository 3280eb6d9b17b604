package escalate_test

import (
	"context"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
)

// heldWithoutEnd is a phone whose channel holds back every call to dana
// two minutes on, without end (a mail relay that answers 421 to every
// try, Slack answering 429 to every post), after a first try that
// fails to be tried again when failFirst is set. Other pages go out.
type heldWithoutEnd struct {
	*phone
	failFirst bool
	calls     atomic.Int64
}

func (p *heldWithoutEnd) Notify(ctx context.Context, pg klaxon.Page) error {
	if pg.User.ID != "dana" {
		return p.phone.Notify(ctx, pg)
	}
	if p.calls.Add(1) == 1 && p.failFirst {
		return providerError{retryable: true}
	}
	return &klaxon.DeferredError{Until: time.Now().Add(2 * time.Minute)}
}

// TestHeldWithoutEndPagesFallback: "nobody reached is never silent". A
// last step whose one page its channel holds back again and again,
// without end, has reached nobody: the walk must not wait for that page
// for ever, but end and page the fallback, as it does for a page that
// keeps failing (after 5 minutes) or a maintenance window that holds on
// (after a month). The walk waits 30 minutes of holds (heldLimit),
// generous for a channel's hold (a person's limit, a provider's pause:
// minutes); the test, an hour.
func TestHeldWithoutEndPagesFallback(t *testing.T) {
	for _, failFirst := range []bool{false, true} {
		name := map[bool]string{false: "held at its first try", true: "held after a failed try"}[failFirst]
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ph := &heldWithoutEnd{phone: &phone{}, failFirst: failFirst}
				st, e := danaOrCarol(t, ph, nil)
				id := openIncident(t, st, danaPolicy(0), time.Now())
				e.Wake()
				time.Sleep(time.Hour)
				synctest.Wait()

				timeline, err := klaxon.ReadTimeline(t.Context(), st, id)
				require.NoError(t, err)
				require.Greater(t, ph.calls.Load(), int64(10), "dana's call came due again and again")
				require.Equal(t, 1, count(timeline, klaxon.EventFallback), "%v", timelineText(timeline))
				require.Equal(t, []string{"carol/sms"}, ph.got())
			})
		})
	}
}
