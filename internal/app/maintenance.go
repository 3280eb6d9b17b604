package app

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/escalate"
	"github.com/klaxonhq/klaxon/ingest"
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
	store maintenanceStore
	// release sends the pages a window held, when it ends early, but
	// those that other windows hold still, as held says.
	release func(ctx context.Context, window string, held escalate.Held) (int, error)
	now     func() time.Time
	log     *slog.Logger

	mu      sync.Mutex
	windows []*route.Window
	read    time.Time // zero: read again
	reading bool      // a caller is reading the store
	gen     int       // counts changes: a read begun before one is not kept
	// ended names the runtime windows a read found gone before their
	// end, ended early (here or on another replica), whose held pages
	// Run releases: this replica may have held an alert by one in the
	// time it had it cached, after the release of the replica that ended
	// it.
	ended map[string]bool
}

// maintenanceStore keeps the runtime windows, and reads the alerts of the
// incidents they hold.
type maintenanceStore interface {
	klaxon.MaintenanceStore
	IncidentAlerts(ctx context.Context, id, cursor string, limit int) (alerts []klaxon.AlertState, next string, err error)
}

func newMaintenance(rt *runtime, store maintenanceStore, release func(context.Context, string, escalate.Held) (int, error), now func() time.Time, log *slog.Logger) *maintenance {
	return &maintenance{rt: rt, store: store, release: release, now: now, log: log.With("component", "maintenance")}
}

// hold is the pipeline's ingest.Hold.
func (m *maintenance) hold(lbls map[string]string, now time.Time) (string, time.Time, bool) {
	w, until, ok := route.Silence(lbls, now, m.rt.cfg.Load().Maintenance, m.runtime(now))
	if !ok {
		return "", time.Time{}, false
	}
	return w.Name, until, true
}

// heldNow is release's escalate.Held: whether the windows hold every
// firing alert of inc at now, read from the store (the windows as read
// last: an ending one is read again before its release).
func (m *maintenance) heldNow(ctx context.Context, inc *klaxon.Incident, now time.Time) (string, time.Time, bool, error) {
	var alerts []klaxon.Alert
	cursor := ""
	for {
		page, next, err := m.store.IncidentAlerts(ctx, inc.ID, cursor, 1000)
		if err != nil {
			return "", time.Time{}, false, fmt.Errorf("read the alerts of incident %s: %w", inc.ID, err)
		}
		for _, a := range page {
			if a.Status == klaxon.Firing {
				alerts = append(alerts, a.Alert)
			}
		}
		if next == "" {
			break
		}
		cursor = next
	}
	w, until, ok := ingest.HoldAll(m.hold, alerts, now)
	return w, until, ok, nil
}

// runtime returns the runtime windows, read again when old. One caller
// reads the store, outside the lock; the others go on with the windows
// read before, and so does ingest when the read fails (tried again a
// refresh later).
func (m *maintenance) runtime(now time.Time) []*route.Window {
	m.mu.Lock()
	fresh := !m.read.IsZero() && now.Sub(m.read) < maintenanceRefresh && !now.Before(m.read)
	windows := m.windows
	if fresh || m.reading {
		m.mu.Unlock()
		return windows
	}
	m.reading = true
	gen := m.gen
	m.mu.Unlock()

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	list, err := m.store.Maintenances(ctx, now)
	var read []*route.Window
	for _, mw := range list {
		w, werr := route.RuntimeWindow(mw)
		if werr != nil {
			m.log.Warn("maintenance window", "id", mw.ID, "err", werr)
			continue
		}
		read = append(read, w)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if gen != m.gen {
		return m.windows // read before a change: a newer read is due
	}
	m.reading, m.read = false, now
	if err != nil {
		m.log.Warn("read maintenance windows", "err", err)
		return m.windows
	}
	for _, w := range m.windows {
		if w.End().After(now) && !slices.ContainsFunc(read, func(r *route.Window) bool { return r.Name == w.Name }) {
			m.noteEnded(w.Name)
		}
	}
	m.windows = read
	return read
}

// noteEnded notes runtime window name as ended early, for Run to
// release what it held. m.mu is held.
func (m *maintenance) noteEnded(name string) {
	if m.ended == nil {
		m.ended = map[string]bool{}
	}
	m.ended[name] = true
}

// Run releases, every maintenanceRefresh, the pages held by runtime
// windows that ended early (see ended), once the windows were read again.
func (m *maintenance) Run(ctx context.Context) error {
	t := time.NewTicker(maintenanceRefresh)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			m.releaseEnded(ctx)
		}
	}
}

// releaseEnded reads the windows again if they are old, then releases
// the pages held by those found ended early; a release that fails is
// tried again next time.
func (m *maintenance) releaseEnded(ctx context.Context) {
	m.runtime(m.now())
	m.mu.Lock()
	ended := m.ended
	m.ended = nil
	m.mu.Unlock()
	for name := range ended {
		n, err := m.release(ctx, name, m.heldNow)
		if err != nil {
			m.log.Warn("release the pages of an ended maintenance window", "window", name, "err", err)
			m.mu.Lock()
			m.noteEnded(name)
			m.mu.Unlock()
			continue
		}
		if n > 0 {
			m.log.Info("maintenance ended early: held pages go now", "window", name, "incidents", n)
		}
	}
}

// changed reads the windows again at once, so that a window started or
// ended here applies before its request is answered.
func (m *maintenance) changed() {
	m.mu.Lock()
	m.read = time.Time{}
	m.reading = false // this read wins over one in flight
	m.gen++
	m.mu.Unlock()
	m.runtime(m.now())
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

// End ends runtime window id, and the incidents it held page now. The
// windows are read again before the release: an alert that comes while
// it runs is not held by the window it releases, until its first end.
// A release that fails is left to Run, which tries it again.
func (m *maintenance) End(ctx context.Context, id string) error {
	err := m.store.EndMaintenance(ctx, id)
	m.changed()
	if err != nil {
		return err
	}
	name := route.RuntimeName(id)
	// A read of the windows that failed keeps them as read before: the
	// ended one must hold nothing the release asks of.
	m.mu.Lock()
	m.windows = slices.DeleteFunc(slices.Clone(m.windows), func(w *route.Window) bool { return w.Name == name })
	m.mu.Unlock()
	n, err := m.release(ctx, name, m.heldNow)
	if n > 0 {
		m.log.Info("maintenance ended early: held pages go now", "window", id, "incidents", n)
	}
	if err != nil {
		// The window ended: Run releases the rest of what it held.
		m.log.Warn("release the pages of an ended maintenance window: trying again", "window", name, "err", err)
		m.mu.Lock()
		m.noteEnded(name)
		m.mu.Unlock()
	}
	return nil
}
