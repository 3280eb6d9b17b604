package groupcache

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
)

func TestCache(t *testing.T) {
	c := New(2)
	_, _, ok := c.Get("a")
	require.False(t, ok)
	inc := &klaxon.Incident{ID: "1"}
	c.Put("a", 3, inc)
	v, got, ok := c.Get("a")
	require.True(t, ok)
	require.Equal(t, uint64(3), v)
	require.Same(t, inc, got)
	c.Put("a", 4, nil)
	v, got, _ = c.Get("a")
	require.Equal(t, uint64(4), v)
	require.Nil(t, got)
	c.Put("b", 1, nil)
	c.Put("c", 1, nil) // full: starts again
	_, _, ok = c.Get("a")
	require.False(t, ok)
	_, _, ok = c.Get("c")
	require.True(t, ok)
}

// TestCommitted: a commit that landed leaves its open incident's header
// at the next version, a copy that the committer's later changes do not
// reach.
func TestCommitted(t *testing.T) {
	c := New(4)
	inc := &klaxon.Incident{ID: "7", Labels: map[string]string{"a": "b"},
		Changed: []klaxon.AlertState{{Count: 1}}, Recorded: []klaxon.Event{{Kind: klaxon.EventTriggered}}}
	c.Committed(klaxon.Commit{Group: "g", Version: 2, Open: "7", Incidents: []*klaxon.Incident{inc}})
	v, got, ok := c.Get("g")
	require.True(t, ok)
	require.Equal(t, uint64(3), v)
	require.Equal(t, "7", got.ID)
	require.Nil(t, got.Changed, "a header holds no alerts")
	require.Nil(t, got.Recorded, "nor events")
	inc.Labels["a"] = "changed"
	require.Equal(t, "b", got.Labels["a"])

	c.Committed(klaxon.Commit{Group: "h", Version: 0, Incidents: []*klaxon.Incident{inc}})
	_, _, ok = c.Get("h")
	require.False(t, ok, "a commit that leaves no open incident holds nothing")
}
