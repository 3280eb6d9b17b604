package storetest

import (
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
)

// benchAt is the time of the benchmarks' incidents and timers.
var benchAt = time.Date(2026, 11, 24, 3, 0, 0, 0, time.UTC)

// BenchClaim measures Claim from 10,000 timers: "idle" when none is due
// (a poll that writes nothing), "due" when all are and each op leases 10.
// newStore returns a fresh, empty store.
func BenchClaim(b *testing.B, newStore func(b *testing.B) klaxon.Store) {
	const timers, batch, lease = 10_000, 10, time.Minute
	base := benchAt
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

// NewIncidentCommit is the commit a benchmark makes for its i-th op: a new
// incident of 5 alerts in its own group, with its index entries and a
// timer.
func NewIncidentCommit(i int64, at time.Time) klaxon.Commit {
	id, group := strconv.FormatInt(i, 10), fmt.Sprintf("alertname=DiskFull,service=svc%d", i)
	inc := &klaxon.Incident{ID: id, Group: group, Summary: "disk full", State: klaxon.StateTriggered, CreatedAt: at}
	keys := make([]string, 5)
	for a := range keys {
		keys[a] = fmt.Sprintf("am/%d-%d", i, a)
		inc.Changed = append(inc.Changed, klaxon.AlertState{
			Alert:     klaxon.Alert{Key: keys[a], Integration: "am", Status: klaxon.Firing, Summary: "disk full", Labels: map[string]string{"instance": keys[a]}},
			Count:     1,
			FirstSeen: at,
			LastSeen:  at,
		})
	}
	inc.AlertCount, inc.FiringCount = len(keys), len(keys)
	inc.Record(klaxon.Event{At: at, Kind: klaxon.EventTriggered})
	return klaxon.Commit{
		Group: group, Open: id,
		Incidents: []*klaxon.Incident{inc},
		Index:     keys,
		Timers:    []klaxon.Timer{{Incident: id, Group: group, Due: at.Add(time.Minute)}},
	}
}

// BenchCloseStorm measures the commit that resolves an incident of
// 100,000 alerts, the end of a storm, and what it costs the escalation
// engine meanwhile: a prober commits an urgent change to another group's
// incident, one after another, from just before the close until it
// lands. It reports the close's time (close-ms) and the longest any
// probe waited (probe-max-ms). newStore returns a fresh, empty store.
func BenchCloseStorm(b *testing.B, newStore func(b *testing.B) klaxon.Store) {
	const alerts, chunk = 100_000, 1_000
	s := newStore(b)
	ctx, at := b.Context(), benchAt
	probe := urgentProber(b, s, at)
	var closing Probed
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		id, group := strconv.Itoa(1000+i), fmt.Sprintf("alertname=Storm,run=%d", i)
		inc := &klaxon.Incident{ID: id, Group: group, Summary: "storm", State: klaxon.StateTriggered, CreatedAt: at}
		for v := 0; v*chunk < alerts; v++ {
			inc.Changed = inc.Changed[:0]
			keys := make([]string, chunk)
			for a := range keys {
				keys[a] = fmt.Sprintf("am/%d-%d", i, v*chunk+a)
				inc.Changed = append(inc.Changed, klaxon.AlertState{
					Alert: klaxon.Alert{Key: keys[a], Integration: "am", Status: klaxon.Firing, Summary: "storm"},
					Count: 1, FirstSeen: at, LastSeen: at,
				})
			}
			inc.AlertCount, inc.FiringCount = (v+1)*chunk, (v+1)*chunk
			require.NoError(b, s.Commit(ctx, klaxon.Commit{Group: group, Version: uint64(v), Open: id, Incidents: []*klaxon.Incident{inc}, Index: keys}))
		}
		inc.Changed = nil
		inc.State = klaxon.StateResolved
		var err error
		closing.Run(b, probe, func() {
			err = s.Commit(ctx, klaxon.Commit{Group: group, Version: uint64(alerts / chunk), Incidents: []*klaxon.Incident{inc}})
		})
		require.NoError(b, err)
		b.StartTimer()
	}
	closing.Report(b, "close-ms")
}

// Probed is what a benchmark's operations took, each with a prober
// beside it, and the longest any probe took.
type Probed struct{ took, longest time.Duration }

// Run times op, the timer on for op alone, while probe is called one
// call after another (probing). The timer is stopped when it returns.
func (p *Probed) Run(b *testing.B, probe func() error, op func()) {
	stop := probing(b, probe)
	b.StartTimer()
	start := time.Now()
	op()
	p.took += time.Since(start)
	b.StopTimer()
	p.longest = max(p.longest, stop())
}

// Report reports an operation's mean time, in ms, as name, and the
// longest probe as probe-max-ms.
func (p *Probed) Report(b *testing.B, name string) {
	b.ReportMetric(float64(p.took.Milliseconds())/float64(b.N), name)
	b.ReportMetric(float64(p.longest.Microseconds())/1000, "probe-max-ms")
}

// urgentProber commits an incident of its own to s, and returns a probe
// that commits an urgent change to it, one a call, as the escalation
// engine's commits come.
func urgentProber(b *testing.B, s klaxon.Store, at time.Time) func() error {
	ctx := b.Context()
	probe := NewIncidentCommit(0, at)
	require.NoError(b, s.Commit(ctx, probe))
	probe.Version, probe.Index, probe.Timers = 1, nil, nil
	probe.Incidents[0].Changed = nil
	probe.Urgent = true
	return func() error {
		if err := s.Commit(ctx, probe); err != nil {
			return err
		}
		probe.Version++
		return nil
	}
}

// probing calls probe one call after another, from now until stop, which
// returns the longest a call took: how long the escalation engine's
// writes wait beside what a benchmark measures. A call that fails fails
// the benchmark.
func probing(b *testing.B, probe func() error) (stop func() time.Duration) {
	done, probed := make(chan struct{}), make(chan time.Duration)
	go func() {
		var longest time.Duration
		defer func() { probed <- longest }()
		for {
			start := time.Now()
			if err := probe(); err != nil {
				b.Error(err)
				return
			}
			longest = max(longest, time.Since(start))
			select {
			case <-done:
				return
			default:
			}
		}
	}()
	return func() time.Duration {
		close(done)
		return <-probed
	}
}

// BenchListStorm measures a list of incidents that reads every header of
// a store of 20,000 incidents (every state, a policy none of them has:
// the console's list filtered by policy after a storm), and what it costs
// the escalation engine meanwhile: a prober commits an urgent change to
// another group's incident, one after another, until the list returns.
// list-ms is the list's time, probe-max-ms the longest any probe took.
func BenchListStorm(b *testing.B, newStore func(b *testing.B) klaxon.Store) {
	const incidents, chunk = 20_000, 500
	s := newStore(b)
	ctx, at := b.Context(), benchAt
	probe := urgentProber(b, s, at)
	for g := 0; g*chunk < incidents; g++ {
		group := fmt.Sprintf("alertname=Storm,run=%d", g)
		c := klaxon.Commit{Group: group}
		for i := range chunk {
			id := strconv.Itoa(1000 + g*chunk + i)
			inc := &klaxon.Incident{ID: id, Group: group, Summary: "storm", State: klaxon.StateResolved, CreatedAt: at, ResolvedAt: at,
				Policy: klaxon.Policy{Name: "payments"}, AlertCount: 1}
			inc.Record(klaxon.Event{At: at, Kind: klaxon.EventResolved})
			c.Incidents = append(c.Incidents, inc)
		}
		require.NoError(b, s.Commit(ctx, c))
	}
	var listing Probed
	for b.Loop() {
		b.StopTimer()
		var list []*klaxon.Incident
		var err error
		listing.Run(b, probe, func() {
			list, err = s.Incidents(ctx, klaxon.IncidentFilter{States: klaxon.States(), Policy: "nosuch", Limit: 100})
		})
		require.NoError(b, err)
		require.Empty(b, list)
		b.StartTimer()
	}
	listing.Report(b, "list-ms")
}
