package app

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/route"
)

// maintenanceRefresh is how often the runtime maintenance windows are
// read again from the store: a window another replica starts holds
// pages here within it.
const maintenanceRefresh = 5 * time.Second

// maintenance answers whether a maintenance window holds an alert: the
// config's recurring windows, and the runtime ones of the store, read at
// most every maintenanceRefresh and at once after a change here.
type maintenance struct {
	rt    *runtime
	store klaxon.MaintenanceStore
	now   func() time.Time
	log   *slog.Logger

	mu      sync.Mutex
	windows []*route.Window
	read    time.Time // zero: read again
}

func newMaintenance(rt *runtime, store klaxon.MaintenanceStore, now func() time.Time, log *slog.Logger) *maintenance {
	return &maintenance{rt: rt, store: store, now: now, log: log.With("component", "maintenance")}
}

// hold is the pipeline's ingest.Hold.
func (m *maintenance) hold(lbls map[string]string, now time.Time) (string, time.Time, bool) {
	windows := slices.Concat(m.rt.cfg.Load().Maintenance, m.runtime(now))
	w, until, ok := route.Silence(windows, lbls, now)
	if !ok {
		return "", time.Time{}, false
	}
	return w.Name, until, true
}

// runtime returns the runtime windows, read again when old. A failed
// read keeps the windows read before: ingest goes on.
func (m *maintenance) runtime(now time.Time) []*route.Window {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.read.IsZero() && now.Sub(m.read) < maintenanceRefresh && !now.Before(m.read) {
		return m.windows
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	list, err := m.store.Maintenances(ctx, now)
	if err != nil {
		m.log.Warn("read maintenance windows", "err", err)
		return m.windows
	}
	m.windows, m.read = m.windows[:0:0], now
	for _, mw := range list {
		w, err := route.RuntimeWindow(mw)
		if err != nil {
			m.log.Warn("maintenance window", "id", mw.ID, "err", err)
			continue
		}
		m.windows = append(m.windows, w)
	}
	return m.windows
}

// changed makes the next hold read the store again.
func (m *maintenance) changed() {
	m.mu.Lock()
	m.read = time.Time{}
	m.mu.Unlock()
}

// Start stores a runtime window, which holds pages here at once.
func (m *maintenance) Start(ctx context.Context, w klaxon.Maintenance) (klaxon.Maintenance, error) {
	if _, err := route.RuntimeWindow(w); err != nil {
		return w, err
	}
	defer m.changed()
	return m.store.PutMaintenance(ctx, w, m.now())
}

// List lists the runtime windows not ended.
func (m *maintenance) List(ctx context.Context) ([]klaxon.Maintenance, error) {
	return m.store.Maintenances(ctx, m.now())
}

// End ends runtime window id. Incidents it held stay held until it would
// have closed.
func (m *maintenance) End(ctx context.Context, id string) error {
	defer m.changed()
	return m.store.EndMaintenance(ctx, id)
}
