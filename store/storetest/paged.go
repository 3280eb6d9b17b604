package storetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
)

// pageUsers commits inc, its group's open incident, as stored, with a
// page to each of users in its outbox, and names them in the commit's
// Paged.
func pageUsers(t *testing.T, s klaxon.Store, inc *klaxon.Incident, users ...string) {
	t.Helper()
	ctx := t.Context()
	g, err := s.Group(ctx, inc.Group, nil)
	require.NoError(t, err)
	inc = g.Open.Header()
	c := klaxon.Commit{Group: inc.Group, Version: g.Version, Token: g.Token, Open: inc.ID, Incidents: []*klaxon.Incident{inc}}
	addPages(inc, &c, users...)
	require.NoError(t, s.Commit(ctx, c))
}

// addPages puts a page to each of users in inc's outbox, and names them
// in c's Paged.
func addPages(inc *klaxon.Incident, c *klaxon.Commit, users ...string) {
	for _, u := range users {
		inc.Seq++
		inc.Pending = append(inc.Pending, klaxon.Notification{ID: inc.Seq, User: u, Via: klaxon.ViaSMS, Due: t0})
		c.Paged = append(c.Paged, klaxon.Paging{User: u, Incident: inc.ID})
	}
}

// pageLost commits a new incident of group, a group never written, with
// a page to user, at a version the group is not at: the commit does not
// land.
func pageLost(t *testing.T, s klaxon.Store, group, user string) {
	t.Helper()
	ctx := t.Context()
	id, err := s.NextIncidentID(ctx)
	require.NoError(t, err)
	inc := incident(id, group, klaxon.StateTriggered)
	c := klaxon.Commit{Group: group, Version: 3, Open: id, Incidents: []*klaxon.Incident{inc}}
	addPages(inc, &c, user)
	require.ErrorIs(t, s.Commit(ctx, c), klaxon.ErrConflict)
}

// resolveOpen resolves the open incident of group.
func resolveOpen(t *testing.T, s klaxon.Store, group string) {
	t.Helper()
	ctx := t.Context()
	g, err := s.Group(ctx, group, nil)
	require.NoError(t, err)
	inc := g.Open.Header()
	inc.State, inc.ResolvedAt, inc.Pending = klaxon.StateResolved, t0.Add(time.Hour), nil
	require.NoError(t, s.Commit(ctx, klaxon.Commit{Group: group, Version: g.Version, Token: g.Token, Incidents: []*klaxon.Incident{inc}}))
}

// requirePaged checks the incidents PagedIncidents lists for each user,
// by ID in order, and that each is its stored header.
func requirePaged(t *testing.T, s klaxon.Store, want map[string][]string) {
	t.Helper()
	ctx := t.Context()
	for user, ids := range want {
		list, err := s.PagedIncidents(ctx, user)
		require.NoError(t, err)
		got := make([]string, len(list))
		for i, inc := range list {
			got[i] = inc.ID
			stored, err := s.Incident(ctx, inc.ID)
			require.NoError(t, err)
			require.Equal(t, stored, inc, "the header of incident %s", inc.ID)
		}
		require.Equal(t, ids, got, "incidents paged to %s", user)
	}
}

// testPagedIncidents: a commit's Paged lists its incident for those users
// only, newest first, while it is open; a commit that did not land lists
// nothing; a commit without Paged indexes nobody, though its incident
// has a page (incident's, to alice).
func testPagedIncidents(t *testing.T, open func() klaxon.Store) {
	s := connect(t, open)
	ctx := t.Context()
	a := create(t, s, "g1", klaxon.StateTriggered)
	b := create(t, s, "g2", klaxon.StateAcknowledged)
	c := create(t, s, "g3", klaxon.StateTriggered)
	steps := []struct {
		name string
		do   func(t *testing.T)
		want map[string][]string
	}{
		{"nobody before a commit names them", func(*testing.T) {}, map[string][]string{"alice": {}, "bob": {}}},
		{"the users paged, newest first", func(t *testing.T) {
			pageUsers(t, s, a, "bob")
			pageUsers(t, s, b, "bob", "carol")
		}, map[string][]string{"bob": {b.ID, a.ID}, "carol": {b.ID}, "alice": {}, "dave": {}}},
		{"a commit that did not land", func(t *testing.T) {
			g, err := s.Group(ctx, c.Group, nil)
			require.NoError(t, err)
			inc := g.Open.Header()
			stale := klaxon.Commit{Group: c.Group, Version: g.Version + 1, Open: c.ID, Incidents: []*klaxon.Incident{inc}}
			addPages(inc, &stale, "dave")
			require.ErrorIs(t, s.Commit(ctx, stale), klaxon.ErrConflict)
			pageLost(t, s, "g4", "erin")
		}, map[string][]string{"dave": {}, "erin": {}, "bob": {b.ID, a.ID}}},
		{"a resolved incident leaves", func(t *testing.T) { resolveOpen(t, s, b.Group) }, map[string][]string{"bob": {a.ID}, "carol": {}}},
		{"and stays gone once dropped", func(*testing.T) {}, map[string][]string{"bob": {a.ID}, "carol": {}}},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			st.do(t)
			requirePaged(t, s, st.want)
		})
	}
}

// CommitUnindexedPages commits what a store laid out before the index
// of pages holds: an open incident with a page sent to alice and one to
// bob in its outbox, which no commit named in Paged. It returns the
// incident's ID (see CheckIndexedPages).
func CommitUnindexedPages(t *testing.T, s klaxon.Store) string {
	t.Helper()
	ctx := t.Context()
	id, err := s.NextIncidentID(ctx)
	require.NoError(t, err)
	inc := incident(id, "unindexed", klaxon.StateTriggered) // a page sent to alice
	inc.Pending = []klaxon.Notification{{ID: 2, User: "bob", Via: klaxon.ViaVoice, Due: t0}}
	require.NoError(t, s.Commit(ctx, klaxon.Commit{Group: inc.Group, Open: id, Incidents: []*klaxon.Incident{inc}}))
	return id
}

// CheckIndexedPages checks that the incident of CommitUnindexedPages is
// listed for alice and for bob, and for nobody else: the store indexed
// the pages of its open incidents as it upgraded.
func CheckIndexedPages(t *testing.T, s klaxon.Store, id string) {
	t.Helper()
	requirePaged(t, s, map[string][]string{"alice": {id}, "bob": {id}, "carol": {}})
}

// CheckPagedEntries follows the index entries of a user through the
// life of an incident, with entries, which reads the incident IDs that
// the store's index holds for a user, sorted: a commit without Paged
// writes none; a commit that pages writes one; a read leaves no entry of
// a commit that did not land, and none of an incident once resolved.
func CheckPagedEntries(t *testing.T, s klaxon.Store, entries func(user string) []string) {
	t.Helper()
	inc := create(t, s, "entries", klaxon.StateTriggered)
	require.Empty(t, entries("alice"), "a commit without Paged indexes nobody")
	pageUsers(t, s, inc, "alice")
	require.Equal(t, []string{inc.ID}, entries("alice"))

	pageLost(t, s, "lost", "alice")
	requirePaged(t, s, map[string][]string{"alice": {inc.ID}})
	require.Equal(t, []string{inc.ID}, entries("alice"), "the read dropped the entry of the commit that did not land")

	resolveOpen(t, s, inc.Group)
	requirePaged(t, s, map[string][]string{"alice": {}})
	require.Empty(t, entries("alice"), "the read dropped the entry of the resolved incident")
}
