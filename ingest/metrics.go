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
	opened *prometheus.CounterVec
	commit prometheus.Histogram
}

// newMetrics registers the pipeline's metrics with reg; nil for none.
func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		dedup: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "klaxon_ingest_alerts_deduplicated_total",
			Help: "Firing alerts that were open already in their incident: committed, and paging nobody.",
		}),
		opened: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "klaxon_incidents_opened_total",
			Help: "Incidents opened, by policy.",
		}, []string{"policy"}),
		commit: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "klaxon_ingest_commit_seconds",
			Help:    "From reading a group to its commit landing in the store (or to finding nothing to write), retries included; failed commits are not observed.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}),
	}
	if reg != nil {
		reg.MustRegister(m.dedup, m.opened, m.commit)
	}
	return m
}

// committed counts a commit f that landed after took, its exemplar the
// trace of ctx's span when that is sampled.
func (m *metrics) committed(ctx context.Context, f folded, took time.Duration) {
	m.dedup.Add(float64(f.dedup))
	for _, p := range f.policies {
		m.opened.WithLabelValues(p).Inc()
	}
	telemetry.Observe(ctx, m.commit, took.Seconds())
}
