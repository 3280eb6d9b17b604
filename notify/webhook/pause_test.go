package webhook

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestPauseForgetsPagesThatNeverCome: a receiver that keeps refusing
// for hours, while pages keep coming, one a second, each given a time,
// and never coming again (their incidents acknowledged meanwhile). The
// times of pages that did not come within maxPause of theirs are
// forgotten as the pause goes on, not only once it ends: the memory a
// pause holds stays bounded by the pages of the last few minutes.
func TestPauseForgetsPagesThatNeverCome(t *testing.T) {
	var p pause
	start := time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)
	probe := pageKey{incident: "probe", notification: 1}
	p.hold(start, probe, true, time.Time{})
	probeAt := p.refused(start, 10*time.Second, probe)
	most := 0
	for s := 1; s <= 2*60*60; s++ {
		now := start.Add(time.Duration(s) * time.Second)
		at, held := p.hold(now, pageKey{incident: "i" + time.Duration(s).String(), notification: 1}, true, time.Time{})
		require.True(t, held, "second %d: the receiver still refuses", s)
		require.True(t, at.After(now))
		if !now.Before(probeAt) {
			// The probe comes at its time, goes, and is refused again.
			_, held := p.hold(now, probe, true, time.Time{})
			require.False(t, held)
			probeAt = p.refused(now, 10*time.Second, probe)
			p.done()
		}
		most = max(most, len(p.given))
	}
	require.LessOrEqual(t, most, int(4*maxPause/spacing), "times kept at most")
}
