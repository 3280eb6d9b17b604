package redis

import (
	"fmt"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/redistest"
	"github.com/stretchr/testify/require"
)

var benchNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// benchStore opens a store on a fresh local redis-server that keeps
// nothing on disk: the figures are of Klaxon's side and the network.
func benchStore(b *testing.B) *Store {
	srv := redistest.Start(b)
	s := open(b, Options{Addrs: []string{srv.Addr()}})
	b.Cleanup(func() { _ = s.Close() })
	return s
}

// BenchmarkCommit commits one new incident of 5 alerts per op, each in
// its own group, with its index entries and a timer, from 8×GOMAXPROCS
// goroutines, as concurrent webhooks would: the write-ahead pipeline and
// the commit script, two round trips.
func BenchmarkCommit(b *testing.B) {
	s := benchStore(b)
	ctx := b.Context()
	var n atomic.Int64
	b.SetParallelism(8)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			id, group := strconv.FormatInt(i, 10), fmt.Sprintf("alertname=DiskFull,service=svc%d", i)
			inc := &klaxon.Incident{ID: id, Group: group, Summary: "disk full", State: klaxon.StateTriggered, CreatedAt: benchNow}
			keys := make([]string, 5)
			for a := range keys {
				keys[a] = fmt.Sprintf("am/%d-%d", i, a)
				inc.Alerts = append(inc.Alerts, klaxon.AlertState{
					Alert:     klaxon.Alert{Key: keys[a], Integration: "am", Status: klaxon.Firing, Summary: "disk full", Labels: map[string]string{"instance": keys[a]}},
					Count:     1,
					FirstSeen: benchNow,
					LastSeen:  benchNow,
				})
			}
			inc.Record(klaxon.Event{At: benchNow, Kind: klaxon.EventTriggered})
			err := s.Commit(ctx, klaxon.Commit{
				Group: group, Open: id,
				Incidents: []*klaxon.Incident{inc},
				Index:     keys,
				Timers:    []klaxon.Timer{{Incident: id, Group: group, Due: benchNow.Add(time.Minute)}},
			})
			if err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(n.Load())/b.Elapsed().Seconds(), "commits/s")
}

// BenchmarkClaim claims from 10,000 timers over the 256 shards: "idle"
// when none is due (a poll that writes nothing), "due" when all are and
// each op leases 10.
func BenchmarkClaim(b *testing.B) {
	const timers, batch, lease = 10_000, 10, time.Minute
	for _, name := range []string{"idle", "due"} {
		b.Run(name, func(b *testing.B) {
			s := benchStore(b)
			ctx := b.Context()
			start := benchNow
			if name == "idle" {
				start = benchNow.Add(time.Hour)
			}
			for i := range timers {
				id := strconv.Itoa(i + 1)
				err := s.Commit(ctx, klaxon.Commit{Group: "g" + id, Timers: []klaxon.Timer{{Incident: id, Group: "g" + id, Due: start.Add(time.Duration(i) * time.Millisecond)}}})
				require.NoError(b, err)
			}
			claimed, now := 0, benchNow.Add(time.Minute)
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
