// Package authlimit limits failed authentications per client address,
// for every HTTP edge that checks a credential: the API and the web
// console's sign-in.
package authlimit

import (
	"net"
	"net/http"
	"sync"
	"time"
)

// Failed authentications are limited per client address: past
// MaxFailures in Window, a request that fails to authenticate is
// answered 429 with Retry-After, without the work of a full answer. A
// request whose token is right is never limited, so a sender behind the
// same address as a guesser is not slowed.
const (
	// MaxFailures failed authentications a client may make in
	// Window before it waits.
	MaxFailures = 30
	Window      = time.Minute
	// maxClients bounds the addresses counted; past it the count starts
	// again, as a window would.
	maxClients = 100_000
)

// Limiter counts failed authentications per client address.
type Limiter struct {
	now func() time.Time

	mu      sync.Mutex
	clients map[string]*failureCount
}

type failureCount struct {
	n     int
	since time.Time
}

// New returns a limiter on the clock now.
func New(now func() time.Time) *Limiter {
	return &Limiter{now: now, clients: map[string]*failureCount{}}
}

// Blocked reports how long r's client must wait before it may try to
// authenticate again, zero when it may now; it counts nothing. An edge
// where people type a secret asks it before checking one, so that a
// guesser over the limit learns nothing more.
func (f *Limiter) Blocked(r *http.Request) time.Duration {
	now := f.now()
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.clients[clientOf(r)]
	if c == nil || c.n < MaxFailures || now.Sub(c.since) >= Window {
		return 0
	}
	return Window - now.Sub(c.since)
}

// clientOf is the address r came from, without its port.
func clientOf(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// Fail counts a failed authentication from r's client, and reports when
// it may try again if it is over the limit (zero when it is not).
func (f *Limiter) Fail(r *http.Request) time.Duration {
	host := clientOf(r)
	now := f.now()
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.clients[host]
	if c == nil || now.Sub(c.since) >= Window {
		if len(f.clients) >= maxClients {
			clear(f.clients)
		}
		c = &failureCount{since: now}
		f.clients[host] = c
	}
	c.n++
	if c.n <= MaxFailures {
		return 0
	}
	return Window - now.Sub(c.since)
}
