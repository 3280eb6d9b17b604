//go:build unix

package ingest_test

import (
	"fmt"
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

// BenchmarkOccurrences is spread as the load command runs it once its
// first cycle is in: 100,000 alerts stored, open in 1,000 incidents, and
// each op a new occurrence (a later starts_at) of alert n mod 100,000 in
// group n mod 1,000, in a delivery of its own. Each is still a change to
// commit, its count and starts_at, but neither a join nor a new header:
// what the store reads and writes for an alert it holds already.
func BenchmarkOccurrences(b *testing.B) {
	const distinct = 100_000
	for _, name := range []string{"embedded", "redis"} {
		b.Run(name, func(b *testing.B) {
			st := stores[name](b)
			p := ingest.NewPipeline(st, func() ingest.Router { return byGroupLabel{} }, nil, time.Now)
			var first atomic.Int64
			send(b, p, &first, distinct, func(n int64) []klaxon.Alert { return loadAlerts(n%distinct, n%1000, 1) })
			var next atomic.Int64
			measure(b, 1, func() int64 {
				return send(b, p, &next, int64(b.N), func(n int64) []klaxon.Alert { return loadAlerts(n%distinct, n%1000, 1) })
			})
		})
	}
}

// singleEvents runs BenchmarkSingleEvents on st: op n is a delivery of
// perOp new alerts in group(n).
func singleEvents(b *testing.B, st klaxon.Store, group func(n int64) int64, perOp int) {
	p := ingest.NewPipeline(st, func() ingest.Router { return byGroupLabel{} }, nil, time.Now)
	var next atomic.Int64
	measure(b, perOp, func() int64 {
		return send(b, p, &next, int64(b.N), func(n int64) []klaxon.Alert { return loadAlerts((n-1)*int64(perOp)+1, group(n), perOp) })
	})
}

// loadAlerts is a delivery of k alerts, from id on, in group g, as the
// load command sends them: each starts now, so that one sent again is a
// new occurrence.
func loadAlerts(id, g int64, k int) []klaxon.Alert {
	body := make([]klaxon.Alert, k)
	for j := range body {
		n := strconv.FormatInt(id+int64(j), 10)
		labels := map[string]string{"alertname": "load", "group": strconv.FormatInt(g, 10), "severity": "warning"}
		body[j] = klaxon.Alert{Key: "pd/load-" + n, Integration: "pd", Status: klaxon.Firing,
			Summary: "load alert " + n, Labels: labels, StartsAt: time.Now()}
	}
	return body
}

// send delivers ops next+1 to n of body from 64 senders at once, and
// returns how many were accepted.
func send(b *testing.B, p *ingest.Pipeline, next *atomic.Int64, n int64, body func(n int64) []klaxon.Alert) int64 {
	var wg sync.WaitGroup
	var accepted atomic.Int64
	for range 64 {
		wg.Go(func() {
			for i := next.Add(1); i <= n; i = next.Add(1) {
				if err := p.Accept(b.Context(), body(i)); err != nil {
					b.Error(err)
					return
				}
				accepted.Add(1)
			}
		})
	}
	wg.Wait()
	return accepted.Load()
}

// measure times run, which returns the ops accepted, and reports
// alerts/s and the process's CPU an alert, perOp alerts an op.
func measure(b *testing.B, perOp int, run func() int64) {
	cpu := cpuTime()
	b.ResetTimer()
	ops := run()
	b.StopTimer()
	alerts := float64(ops * int64(perOp))
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
