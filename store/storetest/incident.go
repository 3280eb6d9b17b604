package storetest

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"testing"

	"github.com/klaxonhq/klaxon"
	"github.com/stretchr/testify/require"
	"golang.org/x/sync/errgroup"
)

func testIncidentGet(t *testing.T, open func() klaxon.Store) {
	s := connect(t, open)
	ctx := t.Context()
	inc := create(t, s, "g", klaxon.StateAcknowledged)

	got, err := s.Incident(ctx, inc.ID)
	require.NoError(t, err)
	require.Equal(t, inc, got)

	_, err = s.Incident(ctx, "424242")
	require.ErrorIs(t, err, klaxon.ErrNotFound)
	require.ErrorContains(t, err, "424242", "the error names the missing incident")
}

func testIncidentList(t *testing.T, open func() klaxon.Store) {
	s := connect(t, open)
	ctx := t.Context()
	// Twelve incidents, so that IDs pass from one digit to two: newest
	// first means "12" before "9".
	states := []klaxon.State{klaxon.StateTriggered, klaxon.StateAcknowledged, klaxon.StateResolved}
	byState := map[klaxon.State][]string{}
	var all []string
	for i := range 12 {
		state := states[i%3]
		inc := create(t, s, fmt.Sprintf("g%d", i), state)
		byState[state] = append([]string{inc.ID}, byState[state]...)
		all = append([]string{inc.ID}, all...)
	}
	openIDs := newestFirst(byState[klaxon.StateTriggered], byState[klaxon.StateAcknowledged])

	tests := []struct {
		name   string
		filter klaxon.IncidentFilter
		want   []string
	}{
		{"zero filter lists open", klaxon.IncidentFilter{}, openIDs},
		{"triggered", klaxon.IncidentFilter{States: []klaxon.State{klaxon.StateTriggered}}, byState[klaxon.StateTriggered]},
		{"resolved", klaxon.IncidentFilter{States: []klaxon.State{klaxon.StateResolved}}, byState[klaxon.StateResolved]},
		{"every state", klaxon.IncidentFilter{States: states}, all},
		{"limit", klaxon.IncidentFilter{Limit: 3}, openIDs[:3]},
		{"limit with states", klaxon.IncidentFilter{States: states, Limit: 5}, all[:5]},
		{"limit above count", klaxon.IncidentFilter{Limit: 100}, openIDs},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			list, err := s.Incidents(ctx, tt.filter)
			require.NoError(t, err)
			require.Equal(t, tt.want, ids(list))
		})
	}

	t.Run("resolving leaves the open list", func(t *testing.T) {
		newest := openIDs[0]
		inc, err := s.Incident(ctx, newest)
		require.NoError(t, err)
		g, err := s.Group(ctx, inc.Group)
		require.NoError(t, err)
		inc.State, inc.ResolvedAt = klaxon.StateResolved, t0
		require.NoError(t, s.Commit(ctx, klaxon.Commit{Group: inc.Group, Version: g.Version, Incidents: []*klaxon.Incident{inc}}))

		list, err := s.Incidents(ctx, klaxon.IncidentFilter{})
		require.NoError(t, err)
		require.Equal(t, openIDs[1:], ids(list))
		got, err := s.Incident(ctx, newest)
		require.NoError(t, err)
		require.Equal(t, klaxon.StateResolved, got.State)
		list, err = s.Incidents(ctx, klaxon.IncidentFilter{States: []klaxon.State{klaxon.StateResolved}})
		require.NoError(t, err)
		require.Equal(t, newestFirst(byState[klaxon.StateResolved], []string{newest}), ids(list))
	})
}

// newestFirst merges lists of decimal IDs, largest first.
func newestFirst(lists ...[]string) []string {
	out := slices.Concat(lists...)
	n := func(id string) uint64 { v, _ := strconv.ParseUint(id, 10, 64); return v }
	slices.SortFunc(out, func(a, b string) int { return cmp.Compare(n(b), n(a)) })
	return out
}

// testIncidentIDs allocates IDs concurrently, then again after a reopen:
// none repeats, and they grow.
func testIncidentIDs(t *testing.T, open func() klaxon.Store) {
	const workers, each = 8, 50
	s := connect(t, open)
	var (
		mu   sync.Mutex
		seen = map[string]bool{}
		top  uint64
		eg   errgroup.Group
	)
	for range workers {
		eg.Go(func() error {
			for range each {
				id, err := s.NextIncidentID(t.Context())
				if err != nil {
					return err
				}
				n, err := strconv.ParseUint(id, 10, 64)
				if err != nil {
					return fmt.Errorf("id %q is not decimal: %w", id, err)
				}
				mu.Lock()
				if seen[id] {
					mu.Unlock()
					return fmt.Errorf("id %s handed out twice", id)
				}
				seen[id], top = true, max(top, n)
				mu.Unlock()
			}
			return nil
		})
	}
	require.NoError(t, eg.Wait())
	require.Len(t, seen, workers*each)
	require.NoError(t, s.Close())

	s = connect(t, open)
	id, err := s.NextIncidentID(t.Context())
	require.NoError(t, err)
	n, err := strconv.ParseUint(id, 10, 64)
	require.NoError(t, err)
	require.Greater(t, n, top, "an ID after reopen is new")
}

func testAlertIndex(t *testing.T, open func() klaxon.Store) {
	s := connect(t, open)
	ctx := t.Context()
	require.NoError(t, s.Commit(ctx, klaxon.Commit{Group: "g1", Version: 0, Index: []string{"am/a", "am/b", "am/c"}}))
	require.NoError(t, s.Commit(ctx, klaxon.Commit{Group: "g2", Version: 0, Index: []string{"dd/d"}}))
	require.NoError(t, s.Commit(ctx, klaxon.Commit{Group: "g1", Version: 1, Unindex: []string{"am/b", "am/never"}}))

	groups, err := s.AlertGroups(ctx, []string{"am/a", "am/b", "am/c", "dd/d", "am/x"})
	require.NoError(t, err)
	require.Equal(t, map[string]string{"am/a": "g1", "am/c": "g1", "dd/d": "g2"}, groups)

	groups, err = s.AlertGroups(ctx, nil)
	require.NoError(t, err)
	require.Empty(t, groups)

	// Indexing a key again moves it to the committing group.
	require.NoError(t, s.Commit(ctx, klaxon.Commit{Group: "g2", Version: 1, Index: []string{"am/a"}}))
	groups, err = s.AlertGroups(ctx, []string{"am/a"})
	require.NoError(t, err)
	require.Equal(t, map[string]string{"am/a": "g2"}, groups)
}
