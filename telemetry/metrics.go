package telemetry

import (
	"context"
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/klaxonhq/klaxon"
)

// Metrics are what ingest and the engine both count, so one value serves
// both: incidents through their life, by policy (ingest opens them and
// resolves them when their alerts resolve; the engine acknowledges and
// resolves them by hand), and the store's failures.
type Metrics struct {
	opened, acknowledged, resolved *prometheus.CounterVec
	toAck                          prometheus.Histogram
	storeErrors                    *prometheus.CounterVec
}

// NewMetrics registers the shared metrics with reg; nil for none.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		opened: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "klaxon_incidents_opened_total",
			Help: "Incidents opened, by policy.",
		}, []string{"policy"}),
		acknowledged: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "klaxon_incidents_acknowledged_total",
			Help: "Incidents acknowledged, by policy.",
		}, []string{"policy"}),
		resolved: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "klaxon_incidents_resolved_total",
			Help: "Incidents resolved, by policy.",
		}, []string{"policy"}),
		toAck: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "klaxon_time_to_acknowledge_seconds",
			Help:    "From an incident opening to its acknowledgement (again after a retrigger).",
			Buckets: []float64{5, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200},
		}),
		storeErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "klaxon_store_errors_total",
			Help: "Store operations that failed (the store unreachable or unable to write; not a refusal such as a lost race), by component: ingest or engine.",
		}, []string{"component"}),
	}
	// Both components' series exist from the start, at 0, so that a rule
	// on their increase sees the first failure.
	for _, component := range storeComponents {
		m.storeErrors.WithLabelValues(component)
	}
	if reg != nil {
		reg.MustRegister(m.opened, m.acknowledged, m.resolved, m.toAck, m.storeErrors)
	}
	return m
}

// The components whose store errors StoreError counts.
const (
	StoreIngest = "ingest"
	StoreEngine = "engine"
)

var storeComponents = []string{StoreIngest, StoreEngine}

// Opened counts an incident opened under policy.
func (m *Metrics) Opened(policy string) {
	if m != nil {
		m.opened.WithLabelValues(policy).Inc()
	}
}

// Resolved counts an incident of policy resolved.
func (m *Metrics) Resolved(policy string) {
	if m != nil {
		m.resolved.WithLabelValues(policy).Inc()
	}
}

// StoreError counts err, an error of the store met by component, unless
// it is a refusal (a conflict, not found, invalid) or nil.
func (m *Metrics) StoreError(component string, err error) {
	if m == nil || err == nil || errors.Is(err, klaxon.ErrConflict) || errors.Is(err, klaxon.ErrNotFound) ||
		errors.Is(err, klaxon.ErrInvalid) || errors.Is(err, context.Canceled) {
		return
	}
	m.storeErrors.WithLabelValues(component).Inc()
}

// Changed counts inc, whose state changed to what it is now, at now; an
// acknowledgement is also timed from the incident's opening, with ctx's
// trace as exemplar.
func (m *Metrics) Changed(ctx context.Context, inc *klaxon.Incident, now time.Time) {
	if m == nil {
		return
	}
	switch inc.State {
	case klaxon.StateAcknowledged:
		m.acknowledged.WithLabelValues(inc.Policy.Name).Inc()
		Observe(ctx, m.toAck, now.Sub(inc.CreatedAt).Seconds())
	case klaxon.StateResolved:
		m.Resolved(inc.Policy.Name)
	}
}
