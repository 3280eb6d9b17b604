package escalate_test

import (
	"context"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
)

// providerDown is a phone whose provider fails every page to dana with
// an error that may pass (a 503, a webhook receiver that does not
// answer): it is tried again, and never goes out.
type providerDown struct{ *phone }

func (p providerDown) Notify(ctx context.Context, pg klaxon.Page) error {
	if pg.User.ID == "dana" {
		return providerError{retryable: true}
	}
	return p.phone.Notify(ctx, pg)
}

// TestRetriedForeverPagesFallback: a walk whose only page is tried again
// and again, and never goes out (its provider or receiver down for the
// night), reached nobody. With escalate_after the step ends and the
// fallback is paged; a last step without it "does not wait for an
// acknowledgement that nobody paged could give" (README) either, yet it
// waits as long as the page is pending: every 2 minutes a try fails, the
// fallback is never paged, and no page is counted failed.
func TestRetriedForeverPagesFallback(t *testing.T) {
	for _, tc := range []struct {
		name          string
		escalateAfter time.Duration
	}{
		{"step escalates after 5m", 5 * time.Minute},
		{"last step waits for an ack", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ph := &phone{}
				st, e := danaOrCarol(t, providerDown{ph}, nil)
				id := openIncident(t, st, danaPolicy(tc.escalateAfter), time.Now())
				e.Wake()
				time.Sleep(30 * time.Minute)
				synctest.Wait()

				timeline, err := klaxon.ReadTimeline(t.Context(), st, id)
				require.NoError(t, err)
				require.Contains(t, kindsOf(timeline), klaxon.EventPageFailed, "dana's page was tried")
				require.Equal(t, []string{"carol/sms"}, ph.got(), "nobody was reached in 30 minutes, and the fallback was not paged")
			})
		})
	}
}

// downUntil is a phone whose provider fails every page to the users in
// down with an error that may pass, until back after start (zero: for
// ever).
type downUntil struct {
	*phone
	start time.Time
	back  time.Duration
	down  []string
}

func (p downUntil) Notify(ctx context.Context, pg klaxon.Page) error {
	if slices.Contains(p.down, pg.User.ID) && (p.back == 0 || time.Since(p.start) < p.back) {
		return providerError{retryable: true}
	}
	return p.phone.Notify(ctx, pg)
}

// TestRetriedPageReachedPagesNoMore: a last step that waits for an
// acknowledgement stops waiting for a page that keeps failing after
// 5 minutes of tries, and pages the fallback once; the page is still
// tried, and one that goes out in the end reached someone: nothing
// more is paged, however long the incident stays open.
func TestRetriedPageReachedPagesNoMore(t *testing.T) {
	for _, tc := range []struct {
		name string
		back time.Duration // 0: never
		down []string
		want []string
	}{
		{"back within the 5 minutes: no fallback", 3 * time.Minute, []string{"dana"}, []string{"dana/voice"}},
		{"back after the fallback was paged: nothing more", 20 * time.Minute, []string{"dana"}, []string{"carol/sms", "dana/voice"}},
		{"the fallback fails too: paged once, tried again", 0, []string{"dana", "carol"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ph := &phone{}
				st, e := danaOrCarol(t, downUntil{phone: ph, start: time.Now(), back: tc.back, down: tc.down}, nil)
				id := openIncident(t, st, danaPolicy(0), time.Now())
				e.Wake()
				time.Sleep(3 * time.Hour)
				synctest.Wait()

				require.Equal(t, tc.want, ph.got())
				timeline, err := klaxon.ReadTimeline(t.Context(), st, id)
				require.NoError(t, err)
				fallbacks, carol := 0, map[int]bool{}
				for _, ev := range timeline {
					if ev.Kind == klaxon.EventFallback {
						fallbacks++
					}
					if ev.User == "carol" {
						carol[ev.Notification] = true
					}
				}
				if slices.Contains(tc.want, "carol/sms") || slices.Contains(tc.down, "carol") {
					require.Equal(t, 1, fallbacks, "the fallback is paged once: %v", timelineText(timeline))
					require.Len(t, carol, 1, "one page to the fallback")
				} else {
					require.Zero(t, fallbacks, "dana was reached: %v", timelineText(timeline))
				}
				inc, err := st.Incident(t.Context(), id)
				require.NoError(t, err)
				require.Equal(t, klaxon.StateTriggered, inc.State)
			})
		})
	}
}
