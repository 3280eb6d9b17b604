package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon"
	"github.com/stretchr/testify/require"
	"golang.org/x/sync/errgroup"
)

func testGroupEmpty(t *testing.T, open func() klaxon.Store) {
	s := connect(t, open)
	g, err := s.Group(t.Context(), "never-written", []string{"am/a"})
	require.NoError(t, err)
	require.Equal(t, klaxon.Group{Key: "never-written"}, g)
}

func testGroupCommit(t *testing.T, open func() klaxon.Store) {
	s := connect(t, open)
	ctx := t.Context()
	inc := incident("1", "g", klaxon.StateTriggered)
	require.NoError(t, s.Commit(ctx, klaxon.Commit{Group: "g", Version: 0, Open: "1", Incidents: []*klaxon.Incident{inc}}))

	g, err := s.Group(ctx, "g", nil)
	require.NoError(t, err)
	require.Equal(t, uint64(1), g.Version)
	require.Equal(t, header(inc), g.Open)

	inc = header(inc)
	inc.State, inc.ResolvedAt, inc.ResolvedBy = klaxon.StateResolved, t0, "alice"
	require.NoError(t, s.Commit(ctx, klaxon.Commit{Group: "g", Version: 1, Incidents: []*klaxon.Incident{inc}}))
	g, err = s.Group(ctx, "g", nil)
	require.NoError(t, err)
	g.Token = "" // see testGroupTokens
	require.Equal(t, klaxon.Group{Key: "g", Version: 2}, g)

	other, err := s.Group(ctx, "other", nil)
	require.NoError(t, err)
	require.Zero(t, other.Version, "a commit changes its own group only")
}

// testGroupTokens checks that a store that names the states of a group
// (klaxon.Group.Token) names each commit's anew, and refuses a commit
// computed from a state the group is no longer in even at the version it
// is at: a Redis group whose last commit a failover lost comes back to
// a version it had, and another replica's commit then takes it to the
// same version as the lost one.
func testGroupTokens(t *testing.T, open func() klaxon.Store) {
	s := connect(t, open)
	ctx := t.Context()
	inc := incident("1", "g", klaxon.StateTriggered)
	require.NoError(t, s.Commit(ctx, klaxon.Commit{Group: "g", Version: 0, Open: "1", Incidents: []*klaxon.Incident{inc}}))
	g1, err := s.Group(ctx, "g", nil)
	require.NoError(t, err)
	inc = header(inc)
	inc.Summary = "second"
	require.NoError(t, s.Commit(ctx, klaxon.Commit{Group: "g", Version: 1, Token: g1.Token, Open: "1", Incidents: []*klaxon.Incident{inc}}))
	g2, err := s.Group(ctx, "g", nil)
	require.NoError(t, err)
	require.Equal(t, uint64(2), g2.Version)
	if g1.Token == "" {
		require.Empty(t, g2.Token, "a store names every state or none")
		return
	}
	require.NotEqual(t, g1.Token, g2.Token)
	stale := header(inc)
	stale.Summary = "stale"
	err = s.Commit(ctx, klaxon.Commit{Group: "g", Version: 2, Token: g1.Token, Open: "1", Incidents: []*klaxon.Incident{stale}})
	require.ErrorIs(t, err, klaxon.ErrConflict)
	got, err := s.Incident(ctx, "1")
	require.NoError(t, err)
	require.Equal(t, "second", got.Summary)
	require.NoError(t, s.Commit(ctx, klaxon.Commit{Group: "g", Version: 2, Token: g2.Token, Open: "1", Incidents: []*klaxon.Incident{stale}}),
		"the version and token of the state the group is in")
}

// testGroupConflict checks that a stale commit fails whole: nothing it
// holds is visible afterwards.
func testGroupConflict(t *testing.T, open func() klaxon.Store) {
	s := connect(t, open)
	ctx := t.Context()
	win := klaxon.Commit{
		Group: "g", Version: 0, Open: "1",
		Incidents: []*klaxon.Incident{incident("1", "g", klaxon.StateTriggered)},
		Index:     []string{"am/a"},
		Timers:    []klaxon.Timer{{Incident: "1", Group: "g", Due: t0}},
	}
	require.NoError(t, s.Commit(ctx, win))

	lose := klaxon.Commit{
		Group: "g", Version: 0, Open: "2",
		Incidents: []*klaxon.Incident{incident("2", "g", klaxon.StateTriggered)},
		Index:     []string{"am/b"},
		Timers:    []klaxon.Timer{{Incident: "2", Group: "g", Due: t0}},
		Cancel:    []string{"1"},
	}
	err := s.Commit(ctx, lose)
	require.ErrorIs(t, err, klaxon.ErrConflict)
	lose.Version = 7
	require.ErrorIs(t, s.Commit(ctx, lose), klaxon.ErrConflict, "a version ahead conflicts too")

	g, err := s.Group(ctx, "g", nil)
	require.NoError(t, err)
	require.Equal(t, uint64(1), g.Version)
	require.Equal(t, "1", g.Open.ID)
	_, err = s.Incident(ctx, "2")
	require.ErrorIs(t, err, klaxon.ErrNotFound)
	groups, err := s.AlertGroups(ctx, []string{"am/a", "am/b"})
	require.NoError(t, err)
	require.Equal(t, map[string]string{"am/a": "g"}, groups)
	due, _, err := s.Claim(ctx, t0, time.Minute, 10)
	require.NoError(t, err)
	requireTimers(t, []klaxon.Timer{{Incident: "1", Group: "g", Due: t0}}, due)
}

// testGroupConcurrent runs read-modify-commit loops on one group from many
// goroutines: every update must land exactly once.
func testGroupConcurrent(t *testing.T, open func() klaxon.Store) {
	const workers, rounds = 16, 20
	s := connect(t, open)
	ctx := t.Context()
	var eg errgroup.Group
	for range workers {
		eg.Go(func() error {
			for range rounds {
				if err := increment(t, s); err != nil {
					return err
				}
			}
			return nil
		})
	}
	require.NoError(t, eg.Wait())

	g, err := s.Group(ctx, "hot", nil)
	require.NoError(t, err)
	require.Equal(t, uint64(workers*rounds), g.Version)
	require.Equal(t, workers*rounds, g.Open.Seq, "no update lost")
}

// increment adds one to the Seq of group "hot"'s incident, retrying on
// conflict.
func increment(t *testing.T, s klaxon.Store) error {
	ctx := t.Context()
	for {
		g, err := s.Group(ctx, "hot", nil)
		if err != nil {
			return err
		}
		var inc *klaxon.Incident
		if g.Open != nil {
			c := *g.Open // the store's copy is shared: change our own
			inc = &c
		} else {
			inc = header(incident("1", "hot", klaxon.StateTriggered))
			inc.Seq = 0
		}
		inc.Seq++
		err = s.Commit(ctx, klaxon.Commit{Group: "hot", Version: g.Version, Open: inc.ID, Incidents: []*klaxon.Incident{inc}})
		if !errors.Is(err, klaxon.ErrConflict) {
			return err
		}
	}
}
