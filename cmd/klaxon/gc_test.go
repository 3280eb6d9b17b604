package main

import (
	"runtime/debug"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestTuneGC(t *testing.T) {
	before := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetGCPercent(before) })

	require.Equal(t, 100, tuneGC(func(string) string { return "100" }), "GOGC set: left as it is")
	require.Equal(t, 100, debug.SetGCPercent(100))

	require.Equal(t, gcPercent, tuneGC(func(string) string { return "" }))
	require.Equal(t, gcPercent, debug.SetGCPercent(100), "GOGC unset: klaxon's target")
}
