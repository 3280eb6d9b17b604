//go:build unix

package ingest_test

import (
	"fmt"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/incident"
	"github.com/klaxonhq/klaxon/ingest"
)

// byGroupLabel routes as the load command's route does (group_by:
// [group]) to a one-step policy.
type byGroupLabel struct{}

func (byGroupLabel) Group(a *klaxon.Alert) (string, error) {
	return "{group=" + a.Labels["group"] + "}", nil
}

func (byGroupLabel) Labels(string) map[string]string { return nil }

func (r byGroupLabel) Route(a *klaxon.Alert) (incident.Template, error) {
	g, _ := r.Group(a)
	return incident.Template{Group: g, Policy: klaxon.Policy{Name: "load", Steps: []klaxon.Step{
		{Targets: []klaxon.Target{{Kind: klaxon.TargetUser, Name: "oncall"}}, EscalateAfter: 5 * time.Minute},
	}}}, nil
}

// BenchmarkSingleEvents is scenarios c and spread of scripts/load.sh
// without HTTP: 64 senders, each op one new alert in a delivery of its
// own, 100 alerts a group one after another (c), or alert n in group n
// mod 1,000, so that the alerts in flight go to as many groups (spread).
// Every op has a change to commit: no alert repeats one stored. One after
// another, the deliveries to a group fold into fewer commits; spread,
// each is a commit of its own. It reports alerts/s, and the process's
// CPU time per alert (cpu-µs/alert), which decides how far a loaded
// machine goes; on Redis, redis-server's CPU is not in it.
func BenchmarkSingleEvents(b *testing.B) {
	layouts := []struct {
		name  string
		group func(n int64) int64
	}{
		{"one-after-another", func(n int64) int64 { return n / 100 % 1000 }},
		{"spread", func(n int64) int64 { return n % 1000 }},
	}
	for _, name := range []string{"embedded", "redis"} {
		for _, layout := range layouts {
			b.Run(name+"/"+layout.name, func(b *testing.B) {
				singleEvents(b, stores[name](b), layout.group, 1)
			})
		}
	}
}

// BenchmarkFold is spread's layout with 1, 2, 4 or 8 new alerts a
// delivery: each op is one delivery, folded and committed as one commit
// of its group. How CPU-µs/alert falls with the alerts a commit folds
// splits what a delivery and its commit cost from what an alert costs:
// at most what a store gains when single events to one group fold into
// fewer commits, since each event folded is still a delivery.
func BenchmarkFold(b *testing.B) {
	for _, name := range []string{"embedded", "redis"} {
		for _, k := range []int{1, 2, 4, 8} {
			b.Run(fmt.Sprintf("%s/alerts=%d", name, k), func(b *testing.B) {
				singleEvents(b, stores[name](b), func(n int64) int64 { return n % 1000 }, k)
			})
		}
	}
}

// singleEvents runs BenchmarkSingleEvents on st: op n is a delivery of
// perOp new alerts in group(n).
func singleEvents(b *testing.B, st klaxon.Store, group func(n int64) int64, perOp int) {
	p := ingest.NewPipeline(st, func() ingest.Router { return byGroupLabel{} }, nil, time.Now)
	ctx := b.Context()
	var next atomic.Int64
	b.SetParallelism(max(64/runtime.GOMAXPROCS(0), 1))
	cpu := cpuTime()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			n := next.Add(1)
			body := make([]klaxon.Alert, perOp)
			for j := range body {
				id := (n-1)*int64(perOp) + int64(j) + 1
				labels := map[string]string{"alertname": "load", "group": strconv.FormatInt(group(n), 10), "severity": "warning"}
				body[j] = klaxon.Alert{Key: fmt.Sprintf("pd/load-%d", id), Integration: "pd", Status: klaxon.Firing,
					Summary: "load alert " + strconv.FormatInt(id, 10), Labels: labels, StartsAt: time.Now()}
			}
			if err := p.Accept(ctx, body); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	alerts := float64(next.Load() * int64(perOp))
	b.ReportMetric(alerts/b.Elapsed().Seconds(), "alerts/s")
	b.ReportMetric(float64(cpuTime()-cpu)/1e3/alerts, "cpu-µs/alert")
	require.NotZero(b, alerts)
}

// cpuTime is the CPU time the process used so far, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		panic(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkResolveStorm fires a storm, 10 groups of 2,000 alerts in
// bodies of 100 from 8 senders at once, then resolves it the same way,
// each group's last resolve closing its incident and taking its alerts
// out of the index: resolved-alerts/s against fired-alerts/s, both
// measured in the same op, so that the end of a storm is measured
// against its start.
func BenchmarkResolveStorm(b *testing.B) {
	const groups, perGroup, body, senders = 10, 2_000, 100, 8
	for _, name := range []string{"embedded", "redis"} {
		b.Run(name, func(b *testing.B) {
			st := stores[name](b)
			p := ingest.NewPipeline(st, func() ingest.Router { return byGroupLabel{} }, nil, time.Now)
			ctx := b.Context()
			send := func(round int, status klaxon.Status) time.Duration {
				bodies := make(chan []klaxon.Alert)
				go func() {
					defer close(bodies)
					for g := range groups {
						for from := 0; from < perGroup; from += body {
							alerts := make([]klaxon.Alert, body)
							for i := range alerts {
								alerts[i] = firing(fmt.Sprintf("am/%d-%d-%d", round, g, from+i), map[string]string{"group": fmt.Sprintf("%d-%d", round, g)})
								alerts[i].Status = status
							}
							bodies <- alerts
						}
					}
				}()
				start := time.Now()
				var wg sync.WaitGroup
				for range senders {
					wg.Go(func() {
						for alerts := range bodies {
							if err := p.Accept(ctx, alerts); err != nil {
								b.Error(err)
							}
						}
					})
				}
				wg.Wait()
				return time.Since(start)
			}
			var fired, resolved time.Duration
			for round := 0; b.Loop(); round++ {
				fired += send(round, klaxon.Firing)
				resolved += send(round, klaxon.Resolved)
			}
			open, err := st.Incidents(ctx, klaxon.IncidentFilter{States: []klaxon.State{klaxon.StateTriggered}})
			require.NoError(b, err)
			require.Empty(b, open, "every incident closed")
			alerts := float64(b.N * groups * perGroup)
			b.ReportMetric(alerts/fired.Seconds(), "fired-alerts/s")
			b.ReportMetric(alerts/resolved.Seconds(), "resolved-alerts/s")
		})
	}
}
