package embedded

import (
	"fmt"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
)

// TestListChunks: a list longer than a chunk comes whole and in order,
// every incident once, from the newest or from before an ID; one read of
// the writer's open transaction reads at most a chunk of headers.
func TestListChunks(t *testing.T) {
	s := openTemp(t)
	ctx := t.Context()
	const n = 3*listChunk + 17
	var want []string // newest first
	for g := 0; g*100 < n; g++ {
		group := fmt.Sprintf("g%d", g)
		c := klaxon.Commit{Group: group}
		for i := g * 100; i < min(n, (g+1)*100); i++ {
			id := strconv.Itoa(i + 1)
			state := klaxon.StateResolved
			if i%2 == 0 {
				state = klaxon.StateTriggered
			}
			c.Incidents = append(c.Incidents, &klaxon.Incident{ID: id, Group: group, State: state, Policy: klaxon.Policy{Name: "p" + strconv.Itoa(i%3)}})
			if i%3 == 1 {
				want = append([]string{id}, want...)
			}
		}
		require.NoError(t, s.Commit(ctx, c))
	}
	reads := s.w.reads.Load()
	list, err := s.Incidents(ctx, klaxon.IncidentFilter{States: klaxon.States(), Policy: "p1"})
	require.NoError(t, err)
	require.Equal(t, want, idsOf(list))
	require.EqualValues(t, 4, s.w.reads.Load()-reads, "a read a chunk")

	list, err = s.Incidents(ctx, klaxon.IncidentFilter{States: klaxon.States(), Policy: "p1", Before: want[100], Limit: 100})
	require.NoError(t, err)
	require.Equal(t, want[101:201], idsOf(list))
}

func idsOf(list []*klaxon.Incident) []string {
	var out []string
	for _, inc := range list {
		out = append(out, inc.ID)
	}
	return out
}

// TestPagedChunks: a person paged for more incidents than a chunk gets
// them all, newest first, in a read a chunk.
func TestPagedChunks(t *testing.T) {
	s := openTemp(t)
	ctx := t.Context()
	const n = 2*listChunk + 5
	var want []string // newest first
	for g := 0; g*100 < n; g++ {
		group := fmt.Sprintf("g%d", g)
		c := klaxon.Commit{Group: group}
		for i := g * 100; i < min(n, (g+1)*100); i++ {
			id := strconv.Itoa(i + 1)
			c.Incidents = append(c.Incidents, &klaxon.Incident{ID: id, Group: group, State: klaxon.StateTriggered,
				Sent: []klaxon.Sent{{Notification: 1, User: "bob", Via: "sms"}}})
			c.Paged = append(c.Paged, klaxon.Paging{User: "bob", Incident: id})
			want = append([]string{id}, want...)
		}
		require.NoError(t, s.Commit(ctx, c))
	}
	reads := s.w.reads.Load()
	list, err := s.PagedIncidents(ctx, "bob")
	require.NoError(t, err)
	require.Equal(t, want, idsOf(list))
	require.EqualValues(t, 3, s.w.reads.Load()-reads, "a read a chunk")
}
