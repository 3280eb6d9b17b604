package main

import (
	"errors"
	"os/exec"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon/internal/redistest"
)

// TestServeRefusesMasterNoSentinelKnows: a master_name that no Sentinel
// knows (a typo), the Sentinels all answering, is a config error: serve
// exits 1 at once and says which master it asked which Sentinels for,
// rather than wait, as it does for Sentinels it cannot reach.
func TestServeRefusesMasterNoSentinelKnows(t *testing.T) {
	master := redistest.Start(t)
	a := redistest.StartSentinel(t, master, "klaxon", 500)
	b := redistest.StartSentinel(t, master, "klaxon", 500)
	config := writeConfig(t, time.Hour)
	rewrite(t, config, "store: {path: data/klaxon.db}", "store: {redis: {addrs: ["+a.Addr()+", "+b.Addr()+"], master_name: klaxn}}")

	p := runBinary(t, buildKlaxon(t), config)
	select {
	case err := <-p.done:
		var exit *exec.ExitError
		require.True(t, errors.As(err, &exit), "%v\n%s", err, p.logs)
		require.Equal(t, 1, exit.ExitCode(), "%s", p.logs)
	case <-time.After(30 * time.Second):
		t.Fatalf("klaxon serve still runs:\n%s", p.logs)
	}
	require.Contains(t, p.logs.String(), `klaxon: store.redis: open redis store: master_name: no Sentinel at `+a.Addr()+`, `+b.Addr()+` knows master "klaxn"`)
	require.NotContains(t, p.logs.String(), "Redis cannot be reached")
}
