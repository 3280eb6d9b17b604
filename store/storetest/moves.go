package storetest

import (
	"testing"

	"github.com/klaxonhq/klaxon"
	"github.com/stretchr/testify/require"
)

// testOwedMoves: a commit that tells of moves keeps them owed, durably,
// until they are settled as they were kept.
func testOwedMoves(t *testing.T, open func() klaxon.Store) {
	s := connect(t, open)
	ctx := t.Context()
	owed := func(s klaxon.Store) []klaxon.Move {
		t.Helper()
		ms, err := s.OwedMoves(ctx, 100)
		require.NoError(t, err)
		return ms
	}
	require.Empty(t, owed(s))

	// Keys and groups with the bytes an encoding could trip on.
	a, b := "am/a:1\x00b", "am/7:x"
	from, to := "g:1\x00{x}", "g2 3:"
	first := incident("1", from, klaxon.StateTriggered)
	first.Changed = []klaxon.AlertState{alertRecord(a, 1), alertRecord(b, 1)}
	require.NoError(t, s.Commit(ctx, klaxon.Commit{Group: from, Open: "1", Incidents: []*klaxon.Incident{first}, Index: []string{a, b}, Moved: new([]klaxon.Move)}))
	require.Empty(t, owed(s), "nothing moved")

	// Only a commit that asks is told, and keeps its moves.
	require.NoError(t, s.Commit(ctx, klaxon.Commit{Group: "g3", Index: []string{b}}))
	require.Empty(t, owed(s), "a commit that did not ask keeps no move")

	second := incident("2", to, klaxon.StateTriggered)
	second.Changed = []klaxon.AlertState{alertRecord(a, 1)}
	var moved []klaxon.Move
	require.NoError(t, s.Commit(ctx, klaxon.Commit{Group: to, Open: "2", Incidents: []*klaxon.Incident{second}, Index: []string{a}, Moved: &moved}))
	want := klaxon.Move{Alert: a, From: from, Group: to, To: "2"}
	require.Equal(t, []klaxon.Move{want}, moved)
	require.Equal(t, []klaxon.Move{want}, owed(s))

	// Kept durably: a new handle reads it.
	require.NoError(t, s.Close())
	s = connect(t, open)
	require.Equal(t, []klaxon.Move{want}, owed(s))

	// A move settled as it is not kept (another incident) stays owed.
	other := want
	other.To = "9"
	require.NoError(t, s.SettleMoves(ctx, []klaxon.Move{other, {Alert: "am/none", From: "x", Group: to, To: "2"}}))
	require.Equal(t, []klaxon.Move{want}, owed(s))
	require.NoError(t, s.SettleMoves(ctx, []klaxon.Move{want}))
	require.Empty(t, owed(s))
	require.NoError(t, s.SettleMoves(ctx, nil))
}
