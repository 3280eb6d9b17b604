package redis

import (
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
			err := s.Commit(ctx, storetest.NewIncidentCommit(n.Add(1), benchNow))
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

// BenchmarkCloseStorm resolves an incident of 100,000 alerts beside an
// urgent prober (storetest.BenchCloseStorm).
func BenchmarkCloseStorm(b *testing.B) {
	storetest.BenchCloseStorm(b, func(b *testing.B) klaxon.Store { return benchStore(b) })
}

// BenchmarkListStorm lists 20,000 incidents' headers beside an urgent
// prober (storetest.BenchListStorm).
func BenchmarkListStorm(b *testing.B) {
	storetest.BenchListStorm(b, func(b *testing.B) klaxon.Store { return benchStore(b) })
}
