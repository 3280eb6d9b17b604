// Package authlimit limits failed authentications per client, for every
// HTTP edge that checks a credential: the API and the web console's
// sign-in.
package authlimit

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"
)

// Failed authentications are limited per client: past MaxFailures in
// Window, a request that fails to authenticate is answered 429 with
// Retry-After, without the work of a full answer. An edge where people
// act (the API, the console's sign-in) asks Blocked first and compares
// no token while it says wait, so that a guesser learns nothing more;
// an edge that takes alerts lets a right token through, so that a
// sender behind the address of a guesser is never refused.
const (
	// MaxFailures failed authentications a client may make in
	// Window before it waits.
	MaxFailures = 30
	Window      = time.Minute
	// siteFailures is the limit of an IPv6 client's /48 (a site, which
	// one holder may be given whole) over all its /64s: without it, one
	// /48 would guess 65,536 times MaxFailures a Window.
	siteFailures = 8 * MaxFailures
)

// maxClients bounds the counts kept. When the table is full, the counts
// whose window ended are dropped, and if none did, one of a client that
// is not blocked: a flood of addresses never clears the table at once,
// never frees a blocked client, and never blocks a client that did not
// fail. Should every count kept be blocked, the clients not in the table
// share one count (overflow). A variable, for tests.
var maxClients = 100_000

// Limiter counts failed authentications per client. A client is the
// address a request came from, an IPv6 address by its /64 (what one
// host is given) and its /48 too; behind a trusted proxy, the address
// the proxy says it forwarded for (X-Forwarded-For).
type Limiter struct {
	now     func() time.Time
	trusted []netip.Prefix

	mu       sync.Mutex
	clients  map[string]*failureCount
	overflow failureCount
	swept    time.Time // when a full table last dropped the ended counts
	// blockedUntil, when the table was last found full of blocked
	// clients, is when the first of their blocks ends: until then, a
	// client not in the table shares the overflow's count, found so
	// without a walk of the table at each failure of a flood, and after
	// it, the table has room again.
	blockedUntil time.Time
	// newcomers are the clients counted in a full table in the place of
	// one not blocked, newest last: the first places the next newcomer
	// of a flood can take without a walk of the table.
	newcomers []string
}

// maxNewcomers bounds Limiter.newcomers.
const maxNewcomers = 1024

type failureCount struct {
	n     int
	limit int
	since time.Time
}

// wait is how long a client of count c must wait at now; zero when it
// need not. A nil c never failed.
func (c *failureCount) wait(now time.Time) time.Duration {
	if c == nil || c.n < c.limit || now.Sub(c.since) >= Window {
		return 0
	}
	return Window - now.Sub(c.since)
}

// New returns a limiter on the clock now that takes the requests from
// an address in trusted as forwarded by a proxy.
func New(now func() time.Time, trusted ...netip.Prefix) *Limiter {
	return &Limiter{now: now, trusted: trusted, clients: map[string]*failureCount{}, overflow: failureCount{limit: MaxFailures}}
}

// Blocked reports how long r's client must wait before it may try to
// authenticate again, zero when it may now; it counts nothing.
func (f *Limiter) Blocked(r *http.Request) time.Duration {
	keys := f.keys(r)
	now := f.now()
	f.mu.Lock()
	defer f.mu.Unlock()
	var wait time.Duration
	for _, k := range keys {
		c := f.clients[k.name]
		if c == nil && len(f.clients) >= maxClients && now.Before(f.blockedUntil) {
			c = &f.overflow
		}
		wait = max(wait, c.wait(now))
	}
	return wait
}

// Fail counts a failed authentication from r's client, and reports when
// it may try again if it is over the limit (zero when it is not).
func (f *Limiter) Fail(r *http.Request) time.Duration {
	keys := f.keys(r)
	now := f.now()
	f.mu.Lock()
	defer f.mu.Unlock()
	var wait time.Duration
	for _, k := range keys {
		c := f.count(k, now)
		if now.Sub(c.since) >= Window {
			c.n, c.since = 0, now
		}
		c.n++
		if c.n > c.limit {
			wait = max(wait, Window-now.Sub(c.since))
		}
	}
	return wait
}

// count returns the count of k, made if the table has room, else the
// overflow's. f.mu is held.
func (f *Limiter) count(k key, now time.Time) *failureCount {
	if c := f.clients[k.name]; c != nil {
		return c
	}
	if len(f.clients) >= maxClients {
		if now.Before(f.blockedUntil) {
			return &f.overflow
		}
		if now.Sub(f.swept) >= Window/10 { // not at every request of a flood
			f.swept = now
			for name, old := range f.clients {
				if now.Sub(old.since) >= Window {
					delete(f.clients, name)
				}
			}
		}
		if len(f.clients) >= maxClients && f.evictNewcomer(now) {
			return f.add(k, now, true)
		}
		var until time.Time // the first end of a block
		for name, old := range f.clients {
			if len(f.clients) < maxClients {
				break
			}
			if w := old.wait(now); w == 0 {
				delete(f.clients, name)
			} else if end := now.Add(w); until.IsZero() || end.Before(until) {
				until = end
			}
		}
		if len(f.clients) >= maxClients {
			// Every count kept is of a blocked client, and stays so
			// until the first block ends: a count grows, and starts
			// anew only when its window has ended.
			f.blockedUntil = until
			return &f.overflow
		}
		return f.add(k, now, true)
	}
	return f.add(k, now, false)
}

// add counts k from now; newcomer: in a full table's place of a client
// not blocked. f.mu is held.
func (f *Limiter) add(k key, now time.Time, newcomer bool) *failureCount {
	c := &failureCount{limit: k.limit, since: now}
	f.clients[k.name] = c
	if newcomer {
		if len(f.newcomers) >= maxNewcomers {
			f.newcomers = f.newcomers[1:]
		}
		f.newcomers = append(f.newcomers, k.name)
	}
	return c
}

// evictNewcomer drops the count of a newcomer not blocked, the oldest
// first, and reports whether it did: a flood of new addresses, once the
// table is full, takes these places in turn without a walk of the table
// at each failure. f.mu is held.
func (f *Limiter) evictNewcomer(now time.Time) bool {
	for len(f.newcomers) > 0 {
		name := f.newcomers[0]
		f.newcomers = f.newcomers[1:]
		if c := f.clients[name]; c != nil && c.wait(now) == 0 {
			delete(f.clients, name)
			return true
		}
	}
	return false
}

// key is what a client is counted under, and its limit.
type key struct {
	name  string
	limit int
}

// keys are what r's client is counted under: its name (client), and an
// IPv6 client's /48.
func (f *Limiter) keys(r *http.Request) []key {
	name, site := f.client(r)
	keys := []key{{name, MaxFailures}}
	if site != "" {
		keys = append(keys, key{site, siteFailures})
	}
	return keys
}

// client names r's client: its address, or the address a trusted proxy
// forwarded it for, with an IPv6 address cut to its /64; and an IPv6
// client's /48, its site ("" for IPv4).
func (f *Limiter) client(r *http.Request) (name, site string) {
	addr, ok := parseAddr(r.RemoteAddr)
	if !ok {
		return r.RemoteAddr, ""
	}
	if f.isTrusted(addr) {
		// The last address the proxies did not add themselves: those
		// before it are the client's own word.
		hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
		for i := len(hops) - 1; i >= 0; i-- {
			hop, ok := parseAddr(strings.TrimSpace(hops[i]))
			if !ok {
				break
			}
			addr = hop
			if !f.isTrusted(hop) {
				break
			}
		}
	}
	if addr.Is6() {
		p, _ := addr.Prefix(64)
		s, _ := addr.Prefix(48)
		return p.String(), s.String()
	}
	return addr.String(), ""
}

func (f *Limiter) isTrusted(a netip.Addr) bool {
	for _, p := range f.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// parseAddr parses an address with or without a port, as a 4-in-6
// address's IPv4 address.
func parseAddr(s string) (netip.Addr, bool) {
	if host, _, err := net.SplitHostPort(s); err == nil {
		s = host
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, false
	}
	return a.Unmap().WithZone(""), true
}
