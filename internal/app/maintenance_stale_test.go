package app

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/config"
	"github.com/klaxonhq/klaxon/escalate"
	"github.com/klaxonhq/klaxon/incident"
	"github.com/klaxonhq/klaxon/route"
	"github.com/klaxonhq/klaxon/store/embedded"
)

// unreadWindows is a store whose windows cannot be read while down is
// set (a Redis blip); everything else answers.
type unreadWindows struct {
	*embedded.Store
	down atomic.Bool
}

func (s *unreadWindows) Maintenances(ctx context.Context, now time.Time) ([]klaxon.Maintenance, error) {
	if s.down.Load() {
		return nil, errors.New("read windows: connection refused")
	}
	return s.Store.Maintenances(ctx, now)
}

type noPager struct{}

func (noPager) Notify(context.Context, klaxon.Page) error { return nil }

type noUsers struct{}

func (noUsers) User(string) (klaxon.User, bool) { return klaxon.User{}, false }
func (noUsers) OnCall(context.Context, string, time.Time) ([]string, error) {
	return nil, klaxon.ErrNotFound
}
func (noUsers) Fallback() []string { return nil }

// TestMaintenanceEndedEarlyStaleReadKeepsOtherHold: a window ended
// early while the windows cannot be read again does not send the page
// that another window still holds: the release must not count the
// ending window, still cached, as the one that holds it.
func TestMaintenanceEndedEarlyStaleReadKeepsOtherHold(t *testing.T) {
	st := &unreadWindows{Store: windowStore(t)}
	now := time.Date(2026, 11, 27, 3, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	engine := escalate.New(st, noPager{}, func() escalate.Directory { return noUsers{} }, slog.New(slog.DiscardHandler), escalate.Options{Now: clock})
	m := newMaintenance(newRuntime(&config.Config{}, nil), st, engine.Release, clock, slog.New(slog.DiscardHandler))

	long, err := m.Start(t.Context(), klaxon.Maintenance{Matchers: []string{`service="db"`}, From: now, To: now.Add(7 * 24 * time.Hour)})
	require.NoError(t, err)
	short, err := m.Start(t.Context(), klaxon.Maintenance{Matchers: []string{`alertname="DBDown"`}, From: now, To: now.Add(2 * time.Hour)})
	require.NoError(t, err)

	// An incident held by the long window (it closes last), as ingest opens it.
	id, w := openHeld(t, st, m, now)
	require.Equal(t, route.RuntimeName(long.ID), w)

	now = now.Add(time.Minute)
	st.down.Store(true) // the windows cannot be read again after the end
	require.NoError(t, m.End(t.Context(), long.ID))

	inc, err := st.Incident(t.Context(), id)
	require.NoError(t, err)
	require.Equal(t, route.RuntimeName(short.ID), inc.Escalation.HeldBy, "the short window holds every alert still: its page waits for its end")
	require.Equal(t, now.Add(2*time.Hour-time.Minute), inc.Escalation.NextAt)
}

// unreadAlerts is a store whose incidents' alerts cannot be read the
// next fail times, nor its windows while down is set.
type unreadAlerts struct {
	unreadWindows
	fail atomic.Int32
}

func (s *unreadAlerts) IncidentAlerts(ctx context.Context, id, cursor string, limit int) ([]klaxon.AlertState, string, error) {
	if s.fail.Add(-1) >= 0 {
		return nil, "", errors.New("read alerts: connection refused")
	}
	return s.unreadWindows.IncidentAlerts(ctx, id, cursor, limit)
}

// TestMaintenanceEndReleaseTriedAgain: a window ended early whose
// release fails (the held incident's alerts cannot be read), and whose
// windows could not be read again either, is ended all the same, and
// Run's next turn releases its page.
func TestMaintenanceEndReleaseTriedAgain(t *testing.T) {
	st := &unreadAlerts{unreadWindows: unreadWindows{Store: windowStore(t)}}
	now := time.Date(2026, 11, 27, 3, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	engine := escalate.New(st, noPager{}, func() escalate.Directory { return noUsers{} }, slog.New(slog.DiscardHandler), escalate.Options{Now: clock})
	m := newMaintenance(newRuntime(&config.Config{}, nil), st, engine.Release, clock, slog.New(slog.DiscardHandler))
	w, err := m.Start(t.Context(), klaxon.Maintenance{Matchers: []string{`service="db"`}, From: now, To: now.Add(7 * 24 * time.Hour)})
	require.NoError(t, err)

	id, name := openHeld(t, st, m, now)

	st.fail.Store(1)
	st.down.Store(true)
	now = now.Add(time.Minute)
	require.NoError(t, m.End(t.Context(), w.ID), "the window ended; its release follows")
	st.down.Store(false)
	now = now.Add(maintenanceRefresh)
	inc, err := st.Incident(t.Context(), id)
	require.NoError(t, err)
	require.Equal(t, name, inc.Escalation.HeldBy, "not released yet")

	m.releaseEnded(t.Context())
	inc, err = st.Incident(t.Context(), id)
	require.NoError(t, err)
	require.Empty(t, inc.Escalation.HeldBy, "released by the next turn")
	require.True(t, inc.Escalation.NextAt.IsZero())
}

// openHeld opens, as ingest does at now, an incident of an alert of
// service db, DBDown, that m's windows hold, and returns its ID and the
// window holding it.
func openHeld(t *testing.T, st klaxon.Store, m *maintenance, now time.Time) (id, window string) {
	t.Helper()
	alert := klaxon.Alert{Key: "am/1", Status: klaxon.Firing, Summary: "db down", Labels: map[string]string{"service": "db", "alertname": "DBDown"}}
	window, until, ok := m.hold(alert.Labels, now)
	require.True(t, ok)
	id, err := st.NextIncidentID(t.Context())
	require.NoError(t, err)
	p := klaxon.Policy{Name: "p", Steps: []klaxon.Step{{Targets: []klaxon.Target{{Kind: klaxon.TargetUser, Name: "alice"}}}}}
	r := incident.Apply(nil, nil, []klaxon.Alert{alert}, now, incident.Template{Group: "g1", Policy: p})
	r.Incident.ID = id
	r.Incident.Escalation.NextAt, r.Incident.Escalation.HeldBy = until, window
	require.NoError(t, st.Commit(t.Context(), klaxon.Commit{Group: "g1", Open: id, Incidents: []*klaxon.Incident{r.Incident},
		Index: r.Index, Timers: []klaxon.Timer{{Incident: id, Group: "g1", Due: until}}}))
	return id, window
}
