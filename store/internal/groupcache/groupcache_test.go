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
