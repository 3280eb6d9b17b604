package main

import (
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon/internal/app"
	"github.com/klaxonhq/klaxon/internal/klaxontest"
	"github.com/klaxonhq/klaxon/internal/redistest"
)

func TestTuneProcs(t *testing.T) {
	before := runtime.GOMAXPROCS(0)
	t.Cleanup(func() { runtime.GOMAXPROCS(before) })
	unset := func(string) string { return "" }

	require.Equal(t, before, tuneProcs(func(string) string { return "3" }, true), "GOMAXPROCS set: left as it is")
	require.Equal(t, before, runtime.GOMAXPROCS(0))

	require.Equal(t, before, tuneProcs(unset, false), "Redis: left as it is")
	require.Equal(t, before, runtime.GOMAXPROCS(0))

	require.Equal(t, before+1, tuneProcs(unset, true))
	require.Equal(t, before+1, runtime.GOMAXPROCS(0), "embedded: one P more")
}

// TestAppEmbedded: the app tells tuneProcs which store it runs on.
func TestAppEmbedded(t *testing.T) {
	config := writeConfig(t, time.Hour)
	a, stop := klaxontest.Serve(t, app.Options{ConfigPath: config})
	require.True(t, a.Embedded())
	stop()

	useRedis(t, config, redistest.Start(t).Addr())
	b, _ := klaxontest.Serve(t, app.Options{ConfigPath: config})
	require.False(t, b.Embedded())
}
