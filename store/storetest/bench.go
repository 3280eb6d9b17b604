package storetest

import (
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
)

// BenchClaim measures Claim from 10,000 timers: "idle" when none is due
// (a poll that writes nothing), "due" when all are and each op leases 10.
// newStore returns a fresh, empty store.
func BenchClaim(b *testing.B, newStore func(b *testing.B) klaxon.Store) {
	const timers, batch, lease = 10_000, 10, time.Minute
	base := time.Date(2026, 11, 24, 3, 0, 0, 0, time.UTC)
	for _, name := range []string{"idle", "due"} {
		b.Run(name, func(b *testing.B) {
			s := newStore(b)
			ctx := b.Context()
			start := base
			if name == "idle" {
				start = base.Add(time.Hour)
			}
			for i := range timers {
				id := strconv.Itoa(i + 1)
				err := s.Commit(ctx, klaxon.Commit{Group: "g" + id, Timers: []klaxon.Timer{{Incident: id, Group: "g" + id, Due: start.Add(time.Duration(i) * time.Millisecond)}}})
				require.NoError(b, err)
			}
			claimed, now := 0, base.Add(time.Minute)
			for b.Loop() {
				due, _, err := s.Claim(ctx, now, lease, batch)
				require.NoError(b, err)
				claimed += len(due)
				if name == "due" {
					now = now.Add(lease) // earlier leases have ended
				}
			}
			if claimed > 0 {
				b.ReportMetric(float64(claimed)/b.Elapsed().Seconds(), "timers/s")
			}
		})
	}
}
