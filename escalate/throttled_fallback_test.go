package escalate_test

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/notify"
)

// TestThrottledPageNoFallback: a page held back by its person's limit
// (one call a minute, notify.Throttle) is not failing: it goes out at
// the time the limit gave it. Eight incidents call dana at once; the
// last ones wait their turn, one a minute, past 5 minutes, and each is
// called in the end. The fallback of none of them is paged: dana was
// reached, or was about to be.
func TestThrottledPageNoFallback(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ph := &phone{}
		th := notify.NewThrottle(ph, notify.ThrottleOptions{Limits: map[string]time.Duration{klaxon.ViaVoice: time.Minute}})
		st, e := danaOrCarol(t, th, nil)
		start := time.Now()
		for range 8 {
			openIncident(t, st, danaPolicy(0), start)
		}
		e.Wake()
		time.Sleep(9 * time.Minute)
		synctest.Wait()
		got := ph.got()
		require.NotContains(t, got, "carol/sms", "dana's calls were held by her limit, one a minute, and went out: %v", got)
	})
}
