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

// failThenHeld is a phone whose first call to dana fails, to be tried
// again (a provider's 503), and whose next ones its channel holds back
// until heldUntil (a person's limit, a provider's pause); from then on,
// dana's calls go out, unless failAfter is set: they fail again, to be
// tried again, for good. Other pages go out.
type failThenHeld struct {
	*phone
	heldUntil time.Time
	failAfter bool
	calls     atomic.Int64
}

func (p *failThenHeld) Notify(ctx context.Context, pg klaxon.Page) error {
	if pg.User.ID != "dana" {
		return p.phone.Notify(ctx, pg)
	}
	switch {
	case p.calls.Add(1) == 1:
		return providerError{retryable: true}
	case time.Now().Before(p.heldUntil):
		return &klaxon.DeferredError{Until: p.heldUntil}
	case p.failAfter:
		return providerError{retryable: true}
	}
	return p.phone.Notify(ctx, pg)
}

// TestHeldAfterFailedTryIsNotFailing: a page whose first try failed and
// that its channel then holds back, to a time minutes on, is going to go
// out then: it is waiting, not failing. Its walk must not end as having
// reached nobody while it waits (a last step without escalate_after
// stops waiting for pages that keep failing for 5 minutes), nor an
// escalation give it up as a retry: it goes out, once, when its channel
// said, and the fallback is not paged. A page that fails again once its
// hold ends is failing, as before: the walk goes on to the fallback.
func TestHeldAfterFailedTryIsNotFailing(t *testing.T) {
	twoSteps := klaxon.Policy{Name: "dana then carol", Steps: []klaxon.Step{
		{Targets: []klaxon.Target{{Kind: klaxon.TargetUser, Name: "dana"}}, EscalateAfter: 2 * time.Minute},
		{Targets: []klaxon.Target{{Kind: klaxon.TargetUser, Name: "carol"}}},
	}}
	for _, tc := range []struct {
		name      string
		policy    klaxon.Policy
		failAfter bool
		want      []string
		// ended: the walk ends having reached nobody (escalation
		// exhausted, the fallback paged).
		ended bool
	}{
		{"last step", danaPolicy(0), false, []string{"dana/voice"}, false},
		{"held past the step's escalate_after", twoSteps, false, []string{"carol/sms", "dana/voice"}, false},
		{"failing again after the hold", danaPolicy(0), true, []string{"carol/sms"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				start := time.Now()
				ph := &failThenHeld{phone: &phone{}, heldUntil: start.Add(10 * time.Minute), failAfter: tc.failAfter}
				st, e := danaOrCarol(t, ph, nil)
				id := openIncident(t, st, tc.policy, start)
				e.Wake()
				time.Sleep(20 * time.Minute)
				synctest.Wait()

				timeline, err := klaxon.ReadTimeline(t.Context(), st, id)
				require.NoError(t, err)
				text := timelineText(timeline)
				require.Equal(t, tc.want, ph.got(), "%v", text)
				require.Equal(t, 1, count(timeline, klaxon.EventPageDeferred), "dana's call was held back: %v", text)
				if tc.ended {
					require.Equal(t, 1, count(timeline, klaxon.EventExhausted), "%v", text)
					require.Equal(t, 1, count(timeline, klaxon.EventFallback), "%v", text)
					return
				}
				for _, ev := range timeline {
					switch {
					case ev.Kind == klaxon.EventExhausted, ev.Kind == klaxon.EventFallback, ev.Kind == klaxon.EventNobodyPaged:
						require.Failf(t, "the walk ended as having reached nobody while dana's call was held back", "%v", text)
					case ev.Kind == klaxon.EventPageFailed && ev.How != klaxon.HowRetry:
						require.Failf(t, "dana's call, held back, was given up", "%v", text)
					}
				}
				var sent []klaxon.Event
				for _, ev := range timeline {
					if ev.Kind == klaxon.EventPageSent && ev.User == "dana" {
						sent = append(sent, ev)
					}
				}
				require.Len(t, sent, 1, "%v", text)
				require.False(t, sent[0].At.Before(ph.heldUntil), "dana's call went out when its channel said: %v", text)
			})
		})
	}
}
