package embedded

import (
	"fmt"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/store/storetest"
)

// TestListChunks: a list longer than a chunk comes whole and in order,
// every incident once, from the newest or from before an ID; one read of
// the writer's open transaction reads at most a chunk of headers.
func TestListChunks(t *testing.T) {
	s := openTemp(t)
	ctx := t.Context()
	var want []string // newest first
	commitMany(t, s, 3*listChunk+17, func(i int, inc *klaxon.Incident, _ *klaxon.Commit) {
		if inc.State = klaxon.StateResolved; i%2 == 0 {
			inc.State = klaxon.StateTriggered
		}
		inc.Policy.Name = "p" + strconv.Itoa(i%3)
		if i%3 == 1 {
			want = append([]string{inc.ID}, want...)
		}
	})
	reads := s.w.reads.Load()
	list, err := s.Incidents(ctx, klaxon.IncidentFilter{States: klaxon.States(), Policy: "p1"})
	require.NoError(t, err)
	require.Equal(t, want, storetest.IDs(list))
	require.EqualValues(t, 4, s.w.reads.Load()-reads, "a read a chunk")

	list, err = s.Incidents(ctx, klaxon.IncidentFilter{States: klaxon.States(), Policy: "p1", Before: want[100], Limit: 100})
	require.NoError(t, err)
	require.Equal(t, want[101:201], storetest.IDs(list))
}

// TestPagedChunks: a person paged for more incidents than a chunk gets
// them all, newest first, in a read a chunk.
func TestPagedChunks(t *testing.T) {
	s := openTemp(t)
	ctx := t.Context()
	var want []string // newest first
	commitMany(t, s, 2*listChunk+5, func(_ int, inc *klaxon.Incident, c *klaxon.Commit) {
		inc.State, inc.Sent = klaxon.StateTriggered, []klaxon.Sent{{Notification: 1, User: "bob", Via: "sms"}}
		c.Paged = append(c.Paged, klaxon.Paging{User: "bob", Incident: inc.ID})
		want = append([]string{inc.ID}, want...)
	})
	reads := s.w.reads.Load()
	list, err := s.PagedIncidents(ctx, "bob")
	require.NoError(t, err)
	require.Equal(t, want, storetest.IDs(list))
	require.EqualValues(t, 3, s.w.reads.Load()-reads, "a read a chunk")
}

// commitMany commits n incidents, IDs 1 to n, a hundred a commit, each in
// the state and with what set makes of it and its commit.
func commitMany(t *testing.T, s *Store, n int, set func(i int, inc *klaxon.Incident, c *klaxon.Commit)) {
	t.Helper()
	for g := 0; g*100 < n; g++ {
		c := klaxon.Commit{Group: fmt.Sprintf("g%d", g)}
		for i := g * 100; i < min(n, (g+1)*100); i++ {
			inc := &klaxon.Incident{ID: strconv.Itoa(i + 1), Group: c.Group}
			set(i, inc, &c)
			c.Incidents = append(c.Incidents, inc)
		}
		require.NoError(t, s.Commit(t.Context(), c))
	}
}
