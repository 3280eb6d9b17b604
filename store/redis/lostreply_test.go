package redis

import (
	"bytes"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon/internal/redistest"
)

// dropProxy forwards connections to a redis-server and, once armed, loses
// the reply to the first request that holds match: the request reaches
// the server and runs, then the proxy closes the client's connection
// before the reply gets back, as a network failure does. go-redis sees
// the connection reset and sends the command again on a new one.
type dropProxy struct {
	ln     net.Listener
	target string
	match  []byte
	armed  atomic.Bool
}

func startDropProxy(t *testing.T, target, match string) *dropProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &dropProxy{ln: ln, target: target, match: []byte(match)}
	t.Cleanup(func() { _ = ln.Close() })
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

func (p *dropProxy) Addr() string { return p.ln.Addr().String() }

func (p *dropProxy) serve(c net.Conn) {
	s, err := net.Dial("tcp", p.target)
	if err != nil {
		_ = c.Close()
		return
	}
	var once sync.Once
	closeBoth := func() { once.Do(func() { _ = c.Close(); _ = s.Close() }) }
	var drop atomic.Bool
	go func() { // client → server
		defer closeBoth()
		buf := make([]byte, 1<<16)
		for {
			n, err := c.Read(buf)
			if n > 0 {
				if bytes.Contains(buf[:n], p.match) && p.armed.CompareAndSwap(true, false) {
					drop.Store(true)
				}
				if _, err := s.Write(buf[:n]); err != nil {
					return
				}
			}
			if err != nil {
				return
			}
		}
	}()
	defer closeBoth()
	buf := make([]byte, 1<<16)
	for { // server → client
		n, err := s.Read(buf)
		if n > 0 {
			if drop.Load() {
				return // the reply is lost
			}
			if _, err := c.Write(buf[:n]); err != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// TestFirstTimeLostReply: the call that records a callback loses its
// reply, and go-redis sends it again: the callback is still this call's
// first (an SMS ack is acted on), and a later delivery of it is not.
func TestFirstTimeLostReply(t *testing.T) {
	srv := redistest.Start(t)
	p := startDropProxy(t, srv.Addr(), ":cb:sms:SM123")
	s := open(t, Options{Addrs: []string{p.Addr()}})
	t.Cleanup(func() { _ = s.Close() })
	ctx := t.Context()
	require.NoError(t, firstScript.Load(ctx, s.urgent).Err()) // so that the first send runs it
	now := time.Now()
	p.armed.Store(true)
	first, err := s.FirstTime(ctx, "sms:SM123", now, time.Hour)
	require.NoError(t, err)
	require.False(t, p.armed.Load(), "the reply was lost")
	require.True(t, first, "nobody recorded the callback before")

	again, err := s.FirstTime(ctx, "sms:SM123", now.Add(time.Minute), time.Hour)
	require.NoError(t, err)
	require.False(t, again, "delivered again")
}
