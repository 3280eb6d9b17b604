package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon"
	"github.com/stretchr/testify/require"
)

// testOwedMoves: a commit that tells of moves keeps them owed, durably,
// until they are settled as they were kept.
func testOwedMoves(t *testing.T, open func() klaxon.Store) {
	s := connect(t, open)
	ctx := t.Context()
	later := t0.Add(time.Second)
	owed := func(s klaxon.Store) []klaxon.Move {
		t.Helper()
		ms, err := s.OwedMoves(ctx, later, 100)
		require.NoError(t, err)
		return ms
	}
	require.Empty(t, owed(s))

	// Keys and groups with the bytes an encoding could trip on.
	a, b := "am/a:1\x00b", "am/7:x"
	from, to := "g:1\x00{x}", "g2 3:"
	first := incident("1", from, klaxon.StateTriggered)
	first.Changed = []klaxon.AlertState{alertRecord(a, 1), alertRecord(b, 1)}
	require.NoError(t, s.Commit(ctx, klaxon.Commit{Group: from, Open: "1", Incidents: []*klaxon.Incident{first}, Index: []string{a, b}, Moved: new([]klaxon.Move), At: t0}))
	require.Empty(t, owed(s), "nothing moved")

	// Only a commit that asks is told, and keeps its moves.
	require.NoError(t, s.Commit(ctx, klaxon.Commit{Group: "g3", Index: []string{b}}))
	require.Empty(t, owed(s), "a commit that did not ask keeps no move")

	second := incident("2", to, klaxon.StateTriggered)
	second.Changed = []klaxon.AlertState{alertRecord(a, 1)}
	var moved []klaxon.Move
	require.NoError(t, s.Commit(ctx, klaxon.Commit{Group: to, Open: "2", Incidents: []*klaxon.Incident{second}, Index: []string{a}, Moved: &moved, At: t0}))
	want := klaxon.Move{Alert: a, From: from, Group: to, To: "2", At: t0}
	require.Equal(t, []klaxon.Move{want}, moved)
	require.Equal(t, []klaxon.Move{want}, owed(s))
	young, err := s.OwedMoves(ctx, t0, 100)
	require.NoError(t, err)
	require.Empty(t, young, "made at t0, not before")

	// Kept durably: a new handle reads it.
	require.NoError(t, s.Close())
	s = connect(t, open)
	require.Equal(t, []klaxon.Move{want}, owed(s))

	// A move settled as it is not kept (another incident, another
	// time) stays owed.
	other, again := want, want
	other.To, again.At = "9", t0.Add(time.Minute)
	require.NoError(t, s.SettleMoves(ctx, []klaxon.Move{other, again, {Alert: "am/none", From: "x", Group: to, To: "2", At: t0}}))
	require.Equal(t, []klaxon.Move{want}, owed(s))
	require.NoError(t, s.SettleMoves(ctx, []klaxon.Move{want}))
	require.Empty(t, owed(s))
	require.NoError(t, s.SettleMoves(ctx, nil))
}

// testClosedAlerts: the group's last closed incident is the last that a
// commit resolved while it was the group's open one, or opened and
// resolved in one commit, and its alerts are read as it keeps them.
func testClosedAlerts(t *testing.T, open func() klaxon.Store) {
	s := connect(t, open)
	ctx := t.Context()
	closedID := ""
	closed := func(keys ...string) map[string]klaxon.Seen {
		t.Helper()
		id, seen, err := s.ClosedAlerts(ctx, "g", keys)
		require.NoError(t, err)
		require.Equal(t, closedID, id, "the closed incident")
		for k, v := range seen {
			v.Stored = 0 // the store's own word
			seen[k] = v
		}
		return seen
	}
	require.Empty(t, closed("am/a"), "a group never written")

	first := incident("1", "g", klaxon.StateTriggered)
	first.Changed = []klaxon.AlertState{alertRecord("am/a", 1), alertRecord("am/b", 1)}
	require.NoError(t, s.Commit(ctx, klaxon.Commit{Group: "g", Open: "1", Incidents: []*klaxon.Incident{first}, Index: []string{"am/a", "am/b"}}))
	require.Empty(t, closed("am/a"), "its incident is open")

	done := header(first)
	done.State = klaxon.StateResolved
	gone := alertRecord("am/a", 1)
	gone.Status = klaxon.Resolved
	done.Changed = []klaxon.AlertState{gone}
	require.NoError(t, s.Commit(ctx, klaxon.Commit{Group: "g", Version: 1, Incidents: []*klaxon.Incident{done}}))
	closedID = "1"
	require.Empty(t, closed(), "its ID, with no alert asked")
	still := alertRecord("am/b", 1)
	require.Equal(t, map[string]klaxon.Seen{"am/a": gone.Seen(), "am/b": still.Seen()}, closed("am/a", "am/b", "am/x"))

	// The next incident of the group opens: the closed one stays the last.
	second := incident("2", "g", klaxon.StateTriggered)
	second.Changed = []klaxon.AlertState{alertRecord("am/c", 1)}
	require.NoError(t, s.Commit(ctx, klaxon.Commit{Group: "g", Version: 2, Open: "2", Incidents: []*klaxon.Incident{second}, Index: []string{"am/c"}}))
	require.Equal(t, map[string]klaxon.Seen{"am/a": gone.Seen()}, closed("am/a", "am/c"))

	// A new handle reads it too, among many keys.
	require.NoError(t, s.Close())
	s = connect(t, open)
	many := []string{"am/a"}
	for i := range 9000 { // more than Lua unpacks at once
		many = append(many, fmt.Sprintf("am/x%d", i))
	}
	require.Equal(t, map[string]klaxon.Seen{"am/a": gone.Seen()}, closed(many...))

	// One commit closes the open incident, then opens and closes one
	// more (a fold of a firing and its resolve): the last closed is the
	// one it opened.
	ended := header(second)
	ended.State = klaxon.StateResolved
	third := incident("3", "g", klaxon.StateResolved)
	brief := alertRecord("am/d", 1)
	brief.Status = klaxon.Resolved
	third.Changed = []klaxon.AlertState{brief}
	require.NoError(t, s.Commit(ctx, klaxon.Commit{Group: "g", Version: 3, Incidents: []*klaxon.Incident{ended, third}}))
	closedID = "3"
	require.Equal(t, map[string]klaxon.Seen{"am/d": brief.Seen()}, closed("am/a", "am/c", "am/d"))

	// A later change to an incident closed before leaves it so.
	noted := header(done)
	noted.Summary = "reviewed"
	require.NoError(t, s.Commit(ctx, klaxon.Commit{Group: "g", Version: 4, Incidents: []*klaxon.Incident{noted}}))
	require.Equal(t, map[string]klaxon.Seen{"am/d": brief.Seen()}, closed("am/a", "am/d"))
}
