package telemetry

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/klaxonhq/klaxon"
)

// Incidents counts incidents through their life, by policy: ingest opens
// and resolves them (when their alerts resolve), the engine acknowledges
// and resolves them (by hand). One value serves both.
type Incidents struct {
	opened, acknowledged, resolved *prometheus.CounterVec
	toAck                          prometheus.Histogram
}

// NewIncidents registers the incident metrics with reg; nil for none.
func NewIncidents(reg prometheus.Registerer) *Incidents {
	m := &Incidents{
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
	}
	if reg != nil {
		reg.MustRegister(m.opened, m.acknowledged, m.resolved, m.toAck)
	}
	return m
}

// Opened counts an incident opened under policy.
func (m *Incidents) Opened(policy string) {
	if m != nil {
		m.opened.WithLabelValues(policy).Inc()
	}
}

// Resolved counts an incident of policy resolved.
func (m *Incidents) Resolved(policy string) {
	if m != nil {
		m.resolved.WithLabelValues(policy).Inc()
	}
}

// Changed counts inc, whose state changed to what it is now, at now; an
// acknowledgement is also timed from the incident's opening, with ctx's
// trace as exemplar.
func (m *Incidents) Changed(ctx context.Context, inc *klaxon.Incident, now time.Time) {
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
