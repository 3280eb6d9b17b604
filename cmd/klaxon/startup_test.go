package main

import (
	"bytes"
	"errors"
	"net"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/redistest"
	redisstore "github.com/klaxonhq/klaxon/store/redis"
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

// TestServeArmsHeartbeatsOnceRedisIsBack: Redis drops just after the
// store opened, as serve arms its heartbeats. The start goes on, and the
// heartbeat is armed once Redis is back.
func TestServeArmsHeartbeatsOnceRedisIsBack(t *testing.T) {
	redis := redistest.Start(t)
	proxy := startCutProxy(t, redis.Addr(), klaxon.HeartbeatGroup("backups"))
	config := writeConfig(t, time.Hour)
	useRedis(t, config, proxy.Addr())
	rewrite(t, config, "integrations:\n", "integrations:\n  - {name: backups, type: heartbeat, token: backups-token, interval: 1h}\n")

	st, err := redisstore.Open(t.Context(), redisstore.Options{Addrs: []string{redis.Addr()}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	armed := func() bool {
		g, err := st.Group(t.Context(), klaxon.HeartbeatGroup("backups"), nil)
		require.NoError(t, err)
		return g.Version == 1
	}

	_, logs, _ := startServe(t, config)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("klaxon's log:\n%s", logs)
		}
	})
	require.True(t, proxy.wasCut(), "Redis dropped as the heartbeats were armed")
	require.Contains(t, logs.String(), "arm heartbeats: trying again as the server runs")
	require.False(t, armed(), "not while Redis is down")
	proxy.mend()
	waitFor(t, "the heartbeat is armed", armed)
	waitFor(t, "it says so", func() bool { return strings.Contains(logs.String(), `msg="heartbeats armed"`) })
}

// cutProxy forwards connections to a redis-server until a request holds
// match: then it closes every connection, and each new one as it comes,
// as a Redis that went down, until mend.
type cutProxy struct {
	ln     net.Listener
	target string
	match  []byte

	mu    sync.Mutex
	cut   bool // while cut, new connections are closed
	cuts  int
	conns map[net.Conn]bool
}

func startCutProxy(t *testing.T, target, match string) *cutProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &cutProxy{ln: ln, target: target, match: []byte(match), conns: map[net.Conn]bool{}}
	t.Cleanup(func() {
		_ = ln.Close()
		p.mu.Lock()
		defer p.mu.Unlock()
		for c := range p.conns {
			_ = c.Close()
		}
	})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.serve(c)
		}
	}()
	return p
}

func (p *cutProxy) Addr() string { return p.ln.Addr().String() }

// track keeps c to close on a cut, and reports false, closing c, while
// cut.
func (p *cutProxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cut {
		_ = c.Close()
		return false
	}
	p.conns[c] = true
	return true
}

// cutAll closes every connection, the first time it is called: later
// requests that hold the match go through. It reports whether it cut.
func (p *cutProxy) cutAll() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cuts > 0 {
		return false
	}
	p.cut, p.cuts = true, p.cuts+1
	for c := range p.conns {
		_ = c.Close()
	}
	clear(p.conns)
	return true
}

func (p *cutProxy) mend() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = false
}

func (p *cutProxy) wasCut() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cuts > 0
}

func (p *cutProxy) serve(c net.Conn) {
	if !p.track(c) {
		return
	}
	s, err := net.Dial("tcp", p.target)
	if err != nil || !p.track(s) {
		_ = c.Close()
		return
	}
	go func() { // client → server
		defer c.Close()
		defer s.Close()
		buf := make([]byte, 1<<16)
		for {
			n, err := c.Read(buf)
			if n > 0 && bytes.Contains(buf[:n], p.match) && p.cutAll() {
				return
			}
			if n > 0 {
				if _, err := s.Write(buf[:n]); err != nil {
					return
				}
			}
			if err != nil {
				return
			}
		}
	}()
	defer c.Close()
	defer s.Close()
	buf := make([]byte, 1<<16)
	for { // server → client
		n, err := s.Read(buf)
		if n > 0 {
			if _, err := c.Write(buf[:n]); err != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// TestServeThroughSentinelsWithPassword: Sentinels that ask for a
// password of their own (sentinel_password, from the environment) and a
// master that asks for another (password): serve starts, and takes an
// alert.
func TestServeThroughSentinelsWithPassword(t *testing.T) {
	master := redistest.Start(t, "--requirepass", "m4ster")
	sentinel := redistest.StartSentinel(t, master, "klaxon", 500, "requirepass s3ntinel", "sentinel auth-pass klaxon m4ster")
	t.Setenv("TEST_SENTINEL_PASSWORD", "s3ntinel")
	config := writeConfig(t, time.Hour)
	rewrite(t, config, "store: {path: data/klaxon.db}", "store: {redis: {addrs: ["+sentinel.Addr()+`], master_name: klaxon, password: m4ster, sentinel_password: "${TEST_SENTINEL_PASSWORD}"}}`)

	base, _, _ := startServe(t, config)
	postFixture(t, base, "firing-one-alert.json")
	require.Len(t, listIncidents(t, base, "open"), 1)
}
