package escalate_test

import (
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/escalate"
	"github.com/klaxonhq/klaxon/incident"
	"github.com/klaxonhq/klaxon/internal/redistest"
	"github.com/klaxonhq/klaxon/store/redis"
	"github.com/klaxonhq/klaxon/store/storetest"
)

// BenchmarkMergeStorm merges an incident of 100,000 alerts into another,
// while a prober adds notes to a third incident, one after another, as
// the escalation engine's commits would come: merge-ms is the merge's
// time, probe-max-ms the longest any note took.
func BenchmarkMergeStorm(b *testing.B) {
	stores := map[string]func(b *testing.B) klaxon.Store{
		"embedded": func(b *testing.B) klaxon.Store { return openStore(b) },
		"redis": func(b *testing.B) klaxon.Store {
			s, err := redis.Open(b.Context(), redis.Options{Addrs: []string{redistest.Start(b).Addr()}})
			require.NoError(b, err)
			b.Cleanup(func() { _ = s.Close() })
			return s
		},
	}
	for _, name := range []string{"embedded", "redis"} {
		b.Run(name, func(b *testing.B) {
			st := stores[name](b)
			ctx := b.Context()
			e := escalate.New(st, &phone{}, func() escalate.Directory { return directory{} }, slog.New(slog.DiscardHandler), escalate.Options{Now: func() time.Time { return workT0 }})
			ops := klaxon.Actor{By: "ops", How: "cli"}
			probe := openIncident(b, st, onePolicy, workT0)
			note := func() error {
				_, err := e.Note(ctx, probe, "probe", false, ops)
				return err
			}
			var merging storetest.Probed
			for i := 0; b.Loop(); i++ {
				b.StopTimer()
				dst, src := openIncident(b, st, onePolicy, workT0), openIncident(b, st, onePolicy, workT0)
				grow(b, st, src, fmt.Sprintf("storm%d/", i), 100_000)
				var err error
				merging.Run(b, note, func() { _, err = e.Merge(ctx, src, dst, ops) })
				require.NoError(b, err)
				b.StartTimer()
			}
			merging.Report(b, "merge-ms")
		})
	}
}

// grow adds n firing alerts, keyed prefix and a number, to open incident
// id, 1,000 a commit, each with its joined event.
func grow(tb testing.TB, st klaxon.Store, id, prefix string, n int) {
	tb.Helper()
	ctx := tb.Context()
	inc, err := st.Incident(ctx, id)
	require.NoError(tb, err)
	for i := 0; i < n; i += 1_000 {
		var alerts []klaxon.Alert
		var keys []string
		for k := i; k < min(i+1_000, n); k++ {
			keys = append(keys, fmt.Sprintf("%s%d", prefix, k))
			alerts = append(alerts, klaxon.Alert{Key: keys[len(keys)-1], Status: klaxon.Firing, Summary: "replica lag"})
		}
		require.NoError(tb, klaxon.Update(ctx, st, inc.Group, keys, func(g klaxon.Group) (*klaxon.Commit, error) {
			r := incident.Apply(g.Open, g.Alerts, alerts, workT0, incident.Template{Group: inc.Group, Policy: onePolicy})
			return &klaxon.Commit{Open: id, Incidents: []*klaxon.Incident{r.Incident}, Index: r.Index}, nil
		}))
	}
}
