package ingest

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/klaxonhq/klaxon/telemetry"
)

// metrics are what the pipeline counts of the commits that landed.
type metrics struct {
	dedup  prometheus.Counter
	commit prometheus.Histogram
	moves  *prometheus.CounterVec
	shared *telemetry.Metrics
}

// newMetrics registers the pipeline's metrics with reg; nil for none. It
// counts incidents and the store's failures in shared.
func newMetrics(reg prometheus.Registerer, shared *telemetry.Metrics) *metrics {
	m := &metrics{
		dedup: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "klaxon_ingest_alerts_deduplicated_total",
			Help: "Firing alerts that were open already in their incident: committed, and paging nobody.",
		}),
		commit: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "klaxon_ingest_commit_seconds",
			Help:    "From reading a group to its commit landing in the store (or to finding nothing to write), retries included; failed commits are not observed.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}),
		moves: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "klaxon_ingest_alerts_moved_total",
			Help: "Firing alerts whose group changed (a route, or their labels), by whether their resolve in the incident they left was committed (ok), not (failed: it is made again later), or made later because its sender had not (late: by each replica that made it, whether or not the incident still held the alert).",
		}, []string{"result"}),
		shared: shared,
	}
	if reg != nil {
		reg.MustRegister(m.dedup, m.commit, m.moves)
	}
	return m
}

// committed counts a commit f that landed after took, its exemplar the
// trace of ctx's span when that is sampled.
func (m *metrics) committed(ctx context.Context, f folded, took time.Duration) {
	m.dedup.Add(float64(f.dedup))
	for _, p := range f.policies {
		m.shared.Opened(p)
	}
	for _, p := range f.resolved {
		m.shared.Resolved(p)
	}
	telemetry.Observe(ctx, m.commit, took.Seconds())
}

// moved counts n alerts that moved, whose resolve in the group they left
// failed with err, or landed; late when its sender had not made it.
func (m *metrics) moved(n int, err error, late bool) {
	result := "ok"
	switch {
	case err != nil:
		result = "failed"
	case late:
		result = "late"
	}
	m.moves.WithLabelValues(result).Add(float64(n))
}

// failed counts a commit that failed for the store's sake.
func (m *metrics) failed(err error) { m.shared.StoreError(telemetry.StoreIngest, err) }
