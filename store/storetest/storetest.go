// Package storetest is the contract that every klaxon.Store passes. A
// store's own test calls Run with a function that makes a fresh backend.
//
// Beyond what klaxon.Store documents, the suite pins down: incident IDs are
// decimal and grow, so newest first is by numeric ID; times come back as
// the same instants, in any zone; Claim's next leaves out the timers it
// just returned. The suite may close a handle twice and ignores the
// second error.
package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon"
	"github.com/stretchr/testify/require"
)

// Run runs the contract suite. For each test, newStore makes a fresh, empty
// backend and returns open, which opens a new handle on that same backend
// each time it is called; the suite closes every handle it opens.
func Run(t *testing.T, newStore func(t *testing.T) (open func() klaxon.Store)) {
	tests := []struct {
		name string
		fn   func(t *testing.T, open func() klaxon.Store)
	}{
		{"group/empty", testGroupEmpty},
		{"group/commit", testGroupCommit},
		{"group/conflict", testGroupConflict},
		{"group/tokens", testGroupTokens},
		{"group/concurrent", testGroupConcurrent},
		{"incidents/get", testIncidentGet},
		{"incidents/list", testIncidentList},
		{"incidents/ids", testIncidentIDs},
		{"incidents/paged", testPagedIncidents},
		{"alerts/index", testAlertIndex},
		{"alerts/moves", testOwedMoves},
		{"alerts/closed", testClosedAlerts},
		{"alerts/records", testAlertRecords},
		{"alerts/details", testAlertDetails},
		{"alerts/pages", testAlertPages},
		{"timeline/append", testTimeline},
		{"timers/claim", testTimerClaim},
		{"timers/order", testTimerOrder},
		{"timers/fence", testTimerFence},
		{"timers/renew", testTimerRenew},
		{"durability/reopen", testReopen},
		{"ping/close", testPingClose},
		{"callbacks/once", testCallbacksOnce},
		{"maintenance", testMaintenance},
		{"changes", testChanges},
		{"changes/bounds", testChangeBounds},
		{"context/canceled", testCanceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.fn(t, newStore(t))
		})
	}
}

// t0 is the suite's clock: every time is explicit, nothing sleeps.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// connect opens a handle and closes it when the test ends. Tests may close
// it earlier; a second Close's error is ignored.
func connect(t *testing.T, open func() klaxon.Store) klaxon.Store {
	t.Helper()
	s := open()
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// incident returns an incident with every kind of field set, so that a
// lossy encoding shows up as a difference.
func incident(id, group string, state klaxon.State) *klaxon.Incident {
	step := 0
	inc := &klaxon.Incident{
		ID:        id,
		Group:     group,
		Summary:   "disk full on " + group,
		Severity:  "critical",
		Labels:    map[string]string{"service": group},
		State:     state,
		CreatedAt: t0,
		Changed: []klaxon.AlertState{{
			Alert: klaxon.Alert{
				Key:         "am/" + id,
				Integration: "am",
				Status:      klaxon.Firing,
				Summary:     "disk full",
				Labels:      map[string]string{"alertname": "DiskFull"},
				StartsAt:    t0.Add(-time.Minute),
			},
			Count:     2,
			FirstSeen: t0,
			LastSeen:  t0.Add(time.Second),
		}},
		AlertCount:  1,
		FiringCount: 1,
		Assignee:    "alice",
		Chat:        &klaxon.Chat{Channel: "C0123", TS: "1700000000.000100"},
		Policy: klaxon.Policy{
			Name:         "default",
			Subscribers:  []string{"user:carol"},
			SlackChannel: "C0123",
			AckTimeout:   30 * time.Minute,
			Steps: []klaxon.Step{{
				Targets:       []klaxon.Target{{Kind: klaxon.TargetUser, Name: "alice"}},
				EscalateAfter: 5 * time.Minute,
			}},
		},
		Escalation: klaxon.Escalation{Step: 0, NextAt: t0.Add(5 * time.Minute)},
		Pending:    []klaxon.Notification{{ID: 1, User: "alice", Via: klaxon.ViaVoice, Due: t0.Add(time.Minute)}},
		Seq:        1,
	}
	inc.Record(klaxon.Event{At: t0, Kind: klaxon.EventTriggered, Alert: "am/" + id, Text: "disk full"})
	inc.Record(klaxon.Event{At: t0.Add(time.Second), Kind: klaxon.EventPageSent, Step: &step, Notification: 1, User: "alice", Via: klaxon.ViaSMS})
	inc.Sent[0].Tried = t0.Add(time.Second)
	switch state {
	case klaxon.StateAcknowledged:
		inc.AckedAt, inc.AckedBy = t0.Add(time.Minute), "alice"
	case klaxon.StateResolved:
		inc.ResolvedAt, inc.ResolvedBy = t0.Add(2*time.Minute), "auto"
	}
	return inc
}

// header is inc as a store gives it back: without the alerts and events
// that a commit writes as records of their own.
func header(inc *klaxon.Incident) *klaxon.Incident {
	h := *inc
	h.Changed, h.Recorded = nil, nil
	return &h
}

// create allocates an ID and commits a new incident as its group's open
// one (or as a closed one, if resolved), and returns its header.
func create(t *testing.T, s klaxon.Store, group string, state klaxon.State) *klaxon.Incident {
	t.Helper()
	ctx := t.Context()
	id, err := s.NextIncidentID(ctx)
	require.NoError(t, err)
	g, err := s.Group(ctx, group, nil)
	require.NoError(t, err)
	inc := incident(id, group, state)
	c := klaxon.Commit{Group: group, Version: g.Version, Incidents: []*klaxon.Incident{inc}}
	if state.Open() {
		c.Open = id
	}
	require.NoError(t, s.Commit(ctx, c))
	return header(inc)
}

// IDs lists the IDs of incidents, in order.
func IDs(list []*klaxon.Incident) []string {
	out := make([]string, len(list))
	for i, inc := range list {
		out[i] = inc.ID
	}
	return out
}

// requireTime checks that got is the instant want, whatever its zone;
// a zero want asks for a zero got.
func requireTime(t *testing.T, want, got time.Time, what string) {
	t.Helper()
	if want.IsZero() {
		require.True(t, got.IsZero(), "%s: want zero, got %s", what, got)
		return
	}
	require.True(t, want.Equal(got), "%s: want %s, got %s", what, want, got)
}

// requireTimers checks the timers Claim returned, in order.
func requireTimers(t *testing.T, want, got []klaxon.Timer) {
	t.Helper()
	require.Equal(t, timerStrings(want), timerStrings(got))
}

func timerStrings(timers []klaxon.Timer) []string {
	out := make([]string, len(timers))
	for i, tm := range timers {
		out[i] = fmt.Sprintf("%s@%s due %s", tm.Incident, tm.Group, tm.Due.UTC().Format(time.RFC3339Nano))
	}
	return out
}

// firstTimer is how a store remembers the callbacks it acted on, and
// the console's sessions signed out.
type firstTimer interface {
	FirstTime(ctx context.Context, key string, now time.Time, ttl time.Duration) (bool, error)
	Remembered(ctx context.Context, key string, now time.Time) (bool, error)
}

// testCallbacksOnce: a callback key is new once until it expires, and
// keys do not meet.
func testCallbacksOnce(t *testing.T, open func() klaxon.Store) {
	s, ok := connect(t, open).(firstTimer)
	require.True(t, ok, "a store remembers callbacks (FirstTime)")
	ctx := t.Context()
	now := time.Now()
	seen, err := s.Remembered(ctx, "sms:SM1", now)
	require.NoError(t, err)
	require.False(t, seen, "not yet recorded")
	for i, want := range []bool{true, false, false} {
		first, err := s.FirstTime(ctx, "sms:SM1", now.Add(time.Duration(i)*time.Minute), 24*time.Hour)
		require.NoError(t, err)
		require.Equal(t, want, first, "delivery %d", i+1)
	}
	seen, err = s.Remembered(ctx, "sms:SM1", now.Add(time.Hour))
	require.NoError(t, err)
	require.True(t, seen, "recorded")
	seen, err = s.Remembered(ctx, "sms:SM2", now)
	require.NoError(t, err)
	require.False(t, seen, "another key")
	first, err := s.FirstTime(ctx, "sms:SM2", now, 24*time.Hour)
	require.NoError(t, err)
	require.True(t, first, "another message")
}
