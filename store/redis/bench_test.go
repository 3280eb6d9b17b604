package redis

import (
	"context"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/incident"
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

// BenchmarkSpreadCommit is the load command's scenario spread at the
// store: single events, each in a group of its own among 1,000 whose
// incidents are open, each event one commit from 64 goroutines. join:
// each event a new alert joining its group's incident; repeat: each a new
// occurrence of one of the 10 alerts its group's incident holds. Commits
// are made as ingest folds them (klaxon.Update on the store's cache,
// incident.Apply). It reports Klaxon's CPU per commit (cpu-µs/commit),
// and redis-server's (redis-cpu-µs/commit, from INFO cpu), which writes
// its AOF as in the load command (appendfsync everysec): what a script
// writes is written there too.
func BenchmarkSpreadCommit(b *testing.B) {
	const groups, held = 1000, 10
	tmpl := func(g int64) incident.Template {
		return incident.Template{Group: "{group=" + strconv.FormatInt(g, 10) + "}", Policy: klaxon.Policy{Name: "load", Steps: []klaxon.Step{
			{Targets: []klaxon.Target{{Kind: klaxon.TargetUser, Name: "oncall"}}, EscalateAfter: 5 * time.Minute},
		}}}
	}
	event := func(j, g int64, starts time.Time) klaxon.Alert {
		id := strconv.FormatInt(j, 10)
		return klaxon.Alert{Key: "pd/load-" + id, Integration: "pd", Status: klaxon.Firing, Summary: "load alert " + id,
			Severity: "warning", Source: "host-" + id, StartsAt: starts,
			Labels: map[string]string{"group": "g" + strconv.FormatInt(g, 10), "source": "host-" + id}}
	}
	// commit folds alerts into group g's open incident, or opens one.
	commit := func(ctx context.Context, s *Store, g int64, alerts []klaxon.Alert, now time.Time) error {
		t := tmpl(g)
		keys := make([]string, len(alerts))
		for i := range alerts {
			keys[i] = alerts[i].Key
		}
		return klaxon.Update(ctx, s, t.Group, keys, func(gr klaxon.Group) (*klaxon.Commit, error) {
			r := incident.Apply(gr.Open, gr.Alerts, alerts, now, t)
			if !r.Changed {
				return nil, nil
			}
			c := &klaxon.Commit{At: now, Incidents: []*klaxon.Incident{r.Incident}, Open: r.Incident.ID, Index: r.Index}
			if r.Opened {
				id, err := s.NextIncidentID(ctx)
				if err != nil {
					return nil, err
				}
				r.Incident.ID, c.Open = id, id
				c.Schedule(r.Incident, now)
			}
			if len(c.Index) > 0 {
				c.Moved = new([]klaxon.Move)
			}
			return c, nil
		})
	}
	for _, tc := range []struct {
		name string
		// event is op n's alert, of group n mod groups.
		event func(n int64) klaxon.Alert
	}{
		{"join", func(n int64) klaxon.Alert { return event(groups*held+n, n%groups, benchNow) }},
		{"repeat", func(n int64) klaxon.Alert {
			k := n / groups % held
			return event(k*groups+n%groups, n%groups, benchNow.Add(time.Duration(1+n/(groups*held))*time.Millisecond))
		}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			srv := redistest.Start(b, "--appendonly", "yes")
			s := open(b, Options{Addrs: []string{srv.Addr()}})
			b.Cleanup(func() { _ = s.Close() })
			ctx := b.Context()
			// Each group's incident, open with its held alerts.
			var wg sync.WaitGroup
			for w := range int64(8) {
				wg.Go(func() {
					for g := w; g < groups; g += 8 {
						alerts := make([]klaxon.Alert, held)
						for k := range int64(held) {
							alerts[k] = event(k*groups+g, g, benchNow)
						}
						if err := commit(ctx, s, g, alerts, benchNow); err != nil {
							b.Error(err)
						}
					}
				})
			}
			wg.Wait()
			now := benchNow.Add(time.Minute)
			var n atomic.Int64
			redisCPU, cpu := srv.CPU(b), processCPU(b)
			b.SetParallelism(max(64/runtime.GOMAXPROCS(0), 1))
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := n.Add(1) - 1
					if err := commit(ctx, s, i%groups, []klaxon.Alert{tc.event(i)}, now); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.StopTimer()
			commits := float64(n.Load())
			b.ReportMetric((processCPU(b)-cpu).Seconds()*1e6/commits, "cpu-µs/commit")
			b.ReportMetric((srv.CPU(b)-redisCPU).Seconds()*1e6/commits, "redis-cpu-µs/commit")
		})
	}
}

// processCPU is the CPU time this process used so far, user and system.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
