package api

import (
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Failed authentications are limited per client address: past
// maxFailures in failureWindow, a request that fails to authenticate is
// answered 429 with Retry-After, without the work of a full answer. A
// request whose token is right is never limited, so a sender behind the
// same address as a guesser is not slowed.
const (
	maxFailures   = 30
	failureWindow = time.Minute
	// maxClients bounds the addresses counted; past it the count starts
	// again, as a window would.
	maxClients = 100_000
)

type failures struct {
	now func() time.Time

	mu      sync.Mutex
	clients map[string]*failureCount
}

type failureCount struct {
	n     int
	since time.Time
}

func newFailures(now func() time.Time) *failures {
	return &failures{now: now, clients: map[string]*failureCount{}}
}

// fail counts a failed authentication from r's client, and reports when
// it may try again if it is over the limit (zero when it is not).
func (f *failures) fail(r *http.Request) time.Duration {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	now := f.now()
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.clients[host]
	if c == nil || now.Sub(c.since) >= failureWindow {
		if len(f.clients) >= maxClients {
			clear(f.clients)
		}
		c = &failureCount{since: now}
		f.clients[host] = c
	}
	c.n++
	if c.n <= maxFailures {
		return 0
	}
	return failureWindow - now.Sub(c.since)
}

// refuse answers a failed authentication: err's own status, or 429 once
// the client is over the limit.
func (s *Server) refuse(w http.ResponseWriter, r *http.Request, err error) {
	if wait := s.failures.fail(r); wait > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(wait.Round(time.Second)/time.Second)+1))
		writeError(w, r, s.log, errorf(http.StatusTooManyRequests, "too many failed authentications from this address: try again later"))
		return
	}
	writeError(w, r, s.log, err)
}
