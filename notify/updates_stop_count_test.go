package notify_test

import (
	"context"
	"log/slog"
	"strconv"
	"testing"
	"testing/synctest"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/notify"
)

// statusUpdates is klaxon_status_updates_total in reg, by result.
func statusUpdates(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	got := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != "klaxon_status_updates_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			got[m.GetLabel()[0].GetValue()] = m.GetCounter().GetValue()
		}
	}
	return got
}

// TestStatusUpdatesQueuedAtStopCounted: updates still queued as Klaxon
// stops are each counted, per subscriber, as dropped: none is lost to
// the count, whichever of the stop and the queue the sorter sees first.
func TestStatusUpdatesQueuedAtStopCounted(t *testing.T) {
	for i := range 200 {
		synctest.Test(t, func(t *testing.T) {
			s := &stepped{tokens: make(chan struct{})} // takes none
			u := notify.NewUpdates(nil, func(string) (notify.Channel, error) { return s, nil }, nil, slog.New(slog.DiscardHandler))
			reg := prometheus.NewRegistry()
			require.NoError(t, u.Register(reg))
			var subs []string
			for k := range 20 {
				subs = append(subs, "https://status.example.com/hooks/"+strconv.Itoa(k))
			}
			const updates = 50
			for n := range updates {
				u.Committed([]*klaxon.Incident{{ID: strconv.Itoa(n), Summary: "disk full",
					Policy:   klaxon.Policy{Subscribers: subs},
					Recorded: []klaxon.Event{{Kind: klaxon.EventTriggered, Alert: "am/" + strconv.Itoa(n)}}}})
			}
			ctx, cancel := context.WithCancel(t.Context())
			cancel() // Klaxon stops with the updates queued
			require.NoError(t, u.Run(ctx))
			got := statusUpdates(t, reg)
			require.Equal(t, float64(updates*len(subs)), got["sent"]+got["failed"]+got["dropped"], "round %d: %v", i, got)
		})
	}
}

// TestStatusUpdatesCommittedAfterStopCounted: the engine's fires in
// flight as Klaxon stops still commit (a heartbeat's incident opens) once
// the updates stopped: each of their updates is counted as dropped, not
// left in the queue unsent and unsaid.
func TestStatusUpdatesCommittedAfterStopCounted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		u := notify.NewUpdates(nil, func(string) (notify.Channel, error) { return &stepped{tokens: make(chan struct{})}, nil }, nil, slog.New(slog.DiscardHandler))
		reg := prometheus.NewRegistry()
		require.NoError(t, u.Register(reg))
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		require.NoError(t, u.Run(ctx))
		u.Committed([]*klaxon.Incident{{ID: "7", Summary: "heartbeat nightly-backup missed",
			Policy:   klaxon.Policy{Subscribers: []string{"https://status.example.com/a", "https://status.example.com/b"}},
			Recorded: []klaxon.Event{{Kind: klaxon.EventTriggered, Alert: "heartbeat/nightly-backup"}}}})
		require.Equal(t, map[string]float64{"sent": 0, "failed": 0, "dropped": 2}, statusUpdates(t, reg))
	})
}

// TestStatusUpdateToUnknownUserCounted: a subscriber removed from the
// users file since its incident opened gets no update: it is counted as
// failed, as a page to an unknown user is, not lost to the count (which
// counts it when the update is dropped).
func TestStatusUpdateToUnknownUserCounted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		users := func(id string) (klaxon.User, bool) {
			return klaxon.User{ID: id, Email: id + "@example.com"}, id == "alice"
		}
		u := notify.NewUpdates(refusingMail{}, nil, users, slog.New(slog.DiscardHandler))
		reg := prometheus.NewRegistry()
		require.NoError(t, u.Register(reg))
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() { done <- u.Run(ctx) }()
		u.Committed([]*klaxon.Incident{{ID: "7", Summary: "db down",
			Policy:   klaxon.Policy{Subscribers: []string{klaxon.TargetUser + ":alice", klaxon.TargetUser + ":carol"}},
			Recorded: []klaxon.Event{{Kind: klaxon.EventTriggered, Alert: "am/1"}}}})
		synctest.Wait()
		cancel()
		require.NoError(t, <-done)
		require.Equal(t, map[string]float64{"sent": 1, "failed": 1, "dropped": 0}, statusUpdates(t, reg))
	})
}
