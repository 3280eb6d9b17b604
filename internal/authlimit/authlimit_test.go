package authlimit

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// via is a request from remote, forwarded for forwarded unless empty.
func via(remote, forwarded string) *http.Request {
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = remote
	if forwarded != "" {
		r.Header.Set("X-Forwarded-For", forwarded)
	}
	return r
}

// TestClient: who a request is counted against.
func TestClient(t *testing.T) {
	proxies := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::1/128")}
	tests := []struct {
		name      string
		remote    string
		forwarded []string // X-Forwarded-For headers
		want      string
	}{
		{"an address", "192.0.2.7:51000", nil, "192.0.2.7"},
		{"an IPv6 address by its /64", "[2001:db8:1:2:aaaa::1]:443", nil, "2001:db8:1:2::/64"},
		{"another address of the same /64", "[2001:db8:1:2:ffff::9]:443", nil, "2001:db8:1:2::/64"},
		{"a 4-in-6 address as IPv4", "[::ffff:192.0.2.7]:443", nil, "192.0.2.7"},
		{"X-Forwarded-For from anyone else is the client's own word", "192.0.2.7:1", []string{"198.51.100.1"}, "192.0.2.7"},
		{"behind a trusted proxy, the address it forwarded for", "10.1.2.3:1", []string{"198.51.100.1"}, "198.51.100.1"},
		{"the last hop a trusted proxy did not add", "10.1.2.3:1", []string{"203.0.113.9, 198.51.100.1, 10.9.9.9"}, "198.51.100.1"},
		{"over several headers", "10.1.2.3:1", []string{"203.0.113.9", "198.51.100.1"}, "198.51.100.1"},
		{"an IPv6 proxy", "[fd00::1]:1", []string{"2001:db8:5::7"}, "2001:db8:5::/64"},
		{"a trusted proxy that says nothing", "10.1.2.3:1", nil, "10.1.2.3"},
		{"a garbled hop ends the walk", "10.1.2.3:1", []string{"198.51.100.1, junk"}, "10.1.2.3"},
	}
	f := New(time.Now, proxies...)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tt.remote
			for _, v := range tt.forwarded {
				r.Header.Add("X-Forwarded-For", v)
			}
			name, _ := f.client(r)
			require.Equal(t, tt.want, name)
		})
	}
}

// TestLimit: past MaxFailures in a Window a client waits, others do not,
// and a client behind a trusted proxy is counted apart from the others
// behind it.
func TestLimit(t *testing.T) {
	now := time.Date(2026, 11, 28, 3, 0, 0, 0, time.UTC)
	f := New(func() time.Time { return now }, netip.MustParsePrefix("10.0.0.1/32"))
	from := func(client string) *http.Request { return via("10.0.0.1:5", client) }
	for range MaxFailures {
		require.Zero(t, f.Fail(from("198.51.100.1")))
	}
	require.Equal(t, Window, f.Fail(from("198.51.100.1")))
	require.Equal(t, Window, f.Blocked(from("198.51.100.1")))
	require.Zero(t, f.Blocked(from("198.51.100.2")), "another client behind the proxy")
	require.Zero(t, f.Blocked(via("10.0.0.1:5", "")), "the proxy's own")
	now = now.Add(Window)
	require.Zero(t, f.Blocked(from("198.51.100.1")), "once the window ended")
}

// TestFullTable: once maxClients are counted, a new client's count
// takes the place of another one, never of all of them, and a client
// that did not fail is never blocked.
func TestFullTable(t *testing.T) {
	now := time.Date(2026, 11, 28, 3, 0, 0, 0, time.UTC)
	f := New(func() time.Time { return now })
	addr := func(i int) *http.Request { return via("[2001:db8:"+strconv.FormatInt(int64(i), 16)+"::1]:1", "") }
	for i := range maxClients + MaxFailures {
		f.Fail(addr(i))
	}
	require.Len(t, f.clients, maxClients)
	require.Zero(t, f.Blocked(via("192.0.2.9:1", "")), "a client that never failed")

	guesser := via("192.0.2.1:1", "")
	for range MaxFailures {
		require.Zero(t, f.Fail(guesser))
	}
	require.Equal(t, Window, f.Fail(guesser), "counted on its own in a full table")
	require.Len(t, f.clients, maxClients)

	now = now.Add(Window)
	require.Zero(t, f.Fail(via("192.0.2.2:1", "")))
	require.Len(t, f.clients, 1, "once the window ended, the ended counts make room")
}

// TestSite: an IPv6 client's /48 is counted over all its /64s: a guesser
// that moves from /64 to /64 of one /48 is blocked after siteFailures,
// in every /64 of it; another /48 is not.
func TestSite(t *testing.T) {
	now := time.Date(2026, 11, 28, 3, 0, 0, 0, time.UTC)
	f := New(func() time.Time { return now })
	in := func(site, host int) *http.Request {
		return via("[2001:db8:"+strconv.FormatInt(int64(site), 16)+":"+strconv.FormatInt(int64(host), 16)+"::1]:1", "")
	}
	for i := range siteFailures {
		require.Zero(t, f.Fail(in(7, i)), "failure %d, each from a /64 of its own", i)
	}
	require.Equal(t, Window, f.Fail(in(7, siteFailures)))
	require.Equal(t, Window, f.Blocked(in(7, 9_999)), "any /64 of the /48")
	require.Zero(t, f.Blocked(in(8, 0)), "another /48")
	now = now.Add(Window)
	require.Zero(t, f.Blocked(in(7, 1)), "once the window ended")
}

// TestFullTableKeepsBlocked: a table filled by a flood of addresses
// makes room from the clients that are not blocked: a blocked guesser
// stays blocked.
func TestFullTableKeepsBlocked(t *testing.T) {
	defer func(n int) { maxClients = n }(maxClients)
	maxClients = 50
	now := time.Date(2026, 11, 28, 3, 0, 0, 0, time.UTC)
	f := New(func() time.Time { return now })
	guesser := via("192.0.2.1:1", "")
	for range MaxFailures + 1 {
		f.Fail(guesser)
	}
	for i := range 100 * maxClients {
		f.Fail(via(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}).String()+":1", ""))
	}
	require.Len(t, f.clients, maxClients)
	require.Equal(t, Window, f.Blocked(guesser))
}

// TestFullTableOfBlocked: once every count kept is of a blocked client,
// the clients not in the table share one count: a flood of new addresses
// is blocked together, and a client in the table keeps its own count.
func TestFullTableOfBlocked(t *testing.T) {
	f, now, addr := fullOfBlocked(t, 0)
	for i := range MaxFailures {
		require.Zero(t, f.Fail(addr(100+i)), "a new client's failure %d, counted with the others not in the table", i)
	}
	require.Equal(t, Window, f.Blocked(addr(200)), "clients not in the table wait together")
	require.Len(t, f.clients, maxClients)
	*now = now.Add(Window)
	require.Zero(t, f.Blocked(addr(200)), "once the window ended")
}

// TestFullTableOfBlockedCostsLittle: once every count kept is of a
// blocked client, a failure from a new address goes to the overflow
// without a walk of the table (100,000 counts, under the lock that
// every API request and sign-in asks Blocked under), until the first
// block ends. A count freed meanwhile (which a walk would take) shows
// that none was made.
func TestFullTableOfBlockedCostsLittle(t *testing.T) {
	f, _, addr := fullOfBlocked(t, time.Second)
	f.Fail(addr(100)) // finds the table full of blocked clients
	require.Equal(t, time.Date(2026, 11, 28, 3, 1, 0, 0, time.UTC), f.blockedUntil, "the first block's end")
	f.clients["192.0.2.5"].n = 0 // as if its block had ended: a walk would take its place
	for i := range 5 {
		f.Fail(addr(101 + i))
	}
	require.Contains(t, f.clients, "192.0.2.5", "a failure walked the table")
	require.Equal(t, 6, f.overflow.n)
}

// TestOverflowEndsWithTheTable: the clients not in a full table share
// the overflow count only while every count kept is of a blocked
// client. Once those counts' windows have ended (a flood from many
// addresses is over), a client that never failed is not refused for
// the overflow that flood left behind: there is room for it again.
func TestOverflowEndsWithTheTable(t *testing.T) {
	f, now, addr := fullOfBlocked(t, 0)
	*now = now.Add(Window / 2)
	for i := range MaxFailures {
		f.Fail(addr(100 + i)) // the flood goes on from new addresses: the overflow fills
	}
	require.Equal(t, Window, f.Blocked(addr(200)), "while every count kept is blocked, as the README says")

	*now = now.Add(Window/2 + time.Second) // every count kept has ended; the overflow's has not
	for i := range maxClients {
		require.Zero(t, f.Blocked(addr(i)), "client %d's window ended", i)
	}
	require.Zero(t, f.Blocked(via("198.51.100.7:1", "")), "a client that never failed, with no count kept blocked")
}

// fullOfBlocked is a limiter whose table (of 10) is full of blocked
// clients, addr(0) to addr(9), each step after the one before, on the
// clock now, from 03:00; maxClients is put back after t.
func fullOfBlocked(t *testing.T, step time.Duration) (f *Limiter, now *time.Time, addr func(i int) *http.Request) {
	t.Helper()
	defer func(n int) { t.Cleanup(func() { maxClients = n }) }(maxClients)
	maxClients = 10
	at := time.Date(2026, 11, 28, 3, 0, 0, 0, time.UTC)
	f = New(func() time.Time { return at })
	addr = func(i int) *http.Request { return via("192.0.2."+strconv.Itoa(i)+":1", "") }
	for i := range maxClients {
		for range MaxFailures {
			f.Fail(addr(i))
		}
		at = at.Add(step)
	}
	return f, &at, addr
}

// TestFloodOfNewcomersCostsLittle: once the first block of a full table
// ended, a flood of new addresses takes the place of the newcomer before
// it (not blocked: a failure or two each) without a walk of the table at
// each failure. A count freed meanwhile (which a walk would take) shows
// that none was made.
func TestFloodOfNewcomersCostsLittle(t *testing.T) {
	f, now, addr := fullOfBlocked(t, time.Second)
	*now = time.Date(2026, 11, 28, 3, 1, 0, 0, time.UTC) // addr(0)'s window ended
	f.Fail(addr(100))
	require.Contains(t, f.clients, "192.0.2.100", "the first newcomer takes the ended count's place")
	f.clients["192.0.2.5"].n = 0 // as if its block had ended: a walk would take its place
	*now = now.Add(time.Second)
	f.Fail(addr(101))
	require.Contains(t, f.clients, "192.0.2.101")
	require.NotContains(t, f.clients, "192.0.2.100", "the next newcomer takes the first one's place")
	require.Contains(t, f.clients, "192.0.2.5", "a failure walked the table")
	require.Equal(t, []string{"192.0.2.101"}, f.newcomers, "the first newcomer's place was taken, not another's")
}
