package klaxon_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
)

// TestReachedKeepsEveryPageThatReached: Escalation.Reached says whether
// a page of the walk went out and was not reported failed. In a long
// walk (64 pages: a policy that repeats), trimSent drops older pages;
// once the latest that reached its person is reported not reached after
// all, an earlier one that reached its person (bob's SMS, delivered,
// trimmed as his SMS since is the latest of his) still did: the walk
// reached bob, and must not page the fallback as if it reached nobody.
func TestReachedKeepsEveryPageThatReached(t *testing.T) {
	t0 := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	step := 0
	inc := &klaxon.Incident{Escalation: klaxon.Escalation{Step: 0}}
	inc.Record(klaxon.Event{At: t0, Kind: klaxon.EventTriggered})
	n := 0
	page := func(user, via string) int {
		n++
		inc.Record(klaxon.Event{At: t0.Add(time.Duration(n) * time.Minute), Kind: klaxon.EventPageSent, Step: &step, Notification: n, User: user, Via: via})
		return n
	}
	report := func(k int, user, via string, ok bool) {
		kind := klaxon.EventPageFailed
		if ok {
			kind = klaxon.EventPageDelivered
		}
		inc.Record(klaxon.Event{At: t0.Add(time.Duration(n) * time.Minute), Kind: kind, Step: &step, Notification: k, User: user, Via: via})
	}

	report(page("bob", klaxon.ViaSMS), "bob", klaxon.ViaSMS, true) // bob's phone got it
	report(page("bob", klaxon.ViaSMS), "bob", klaxon.ViaSMS, false)
	for range 61 {
		report(page("carol", klaxon.ViaSMS), "carol", klaxon.ViaSMS, false)
	}
	dana := page("dana", klaxon.ViaVoice)
	report(page("carol", klaxon.ViaSMS), "carol", klaxon.ViaSMS, false)
	require.True(t, inc.Escalation.Reached, "bob's first SMS reached him")
	report(dana, "dana", klaxon.ViaVoice, false) // answered by a machine

	require.True(t, inc.Escalation.Reached, "the walk reached bob (his SMS was delivered), yet Reached says nobody")
}
