package redis

import (
	"fmt"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/redistest"
	"github.com/klaxonhq/klaxon/store/storetest"
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

// BenchmarkClaim claims from 10,000 timers (storetest.BenchClaim).
func BenchmarkClaim(b *testing.B) {
	storetest.BenchClaim(b, func(b *testing.B) klaxon.Store { return benchStore(b) })
}
