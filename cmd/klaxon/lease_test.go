package main

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/api"
	"github.com/klaxonhq/klaxon/internal/app"
	"github.com/klaxonhq/klaxon/internal/klaxontest"
	"github.com/klaxonhq/klaxon/internal/redistest"
	"github.com/klaxonhq/klaxon/internal/twiliotest"
)

// leaseEnd returns when the lease on incident id's timer ends, from the
// Redis store's lease hashes (T:tl, "<end µs> <claim token>"), and false
// while no lease is held on it.
func leaseEnd(t *testing.T, addr, id string) (time.Time, bool) {
	t.Helper()
	end, token := leaseHolder(t, addr, id)
	return end, token != ""
}

// leaseHolder returns when the lease on incident id's timer ends and the
// token of the claim that holds it; "" while no lease is held on it.
func leaseHolder(t *testing.T, addr, id string) (time.Time, string) {
	t.Helper()
	keys, err := redistest.Do(addr, "KEYS", "*:tl")
	require.NoError(t, err)
	for key := range strings.Lines(keys) {
		v, err := redistest.Do(addr, "HGET", strings.TrimSpace(key), id)
		require.NoError(t, err)
		if end, token, ok := strings.Cut(v, " "); ok {
			us, err := strconv.ParseInt(end, 10, 64)
			require.NoError(t, err)
			return time.UnixMicro(us), token
		}
	}
	return time.Time{}, ""
}

// pagedUsers lists the users of an incident's console pages in l: a
// binary's log, or an in-process server's console.
func pagedUsers(l interface{ pagesFor(string) []page }, id string) []string {
	var users []string
	for _, p := range l.pagesFor(id) {
		users = append(users, p.user)
	}
	return users
}

// useTwilio makes the config at path send SMS and calls through tw;
// mail goes to the console. Callbacks are not used: the public URL names
// no server.
func useTwilio(t *testing.T, path string, tw *twiliotest.Server) {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	out := strings.Replace(string(b), "notify:\n  console: {}\n", fmt.Sprintf(`public_url: http://klaxon.invalid
notify:
  console: {}
  twilio: {account_sid: %s, auth_token: %s, from: "+15550100000", api_url: %q}
`, tw.AccountSID, tw.AuthToken, tw.URL), 1)
	require.NotEqual(t, string(b), out)
	require.NoError(t, os.WriteFile(path, []byte(out), 0o644))
}

// claimed waits until a replica holds the claim on incident id's first
// step, with the page to alice pending, and returns when its lease ends.
func claimed(t *testing.T, base, redisAddr, id string) time.Time {
	t.Helper()
	var claimEnds time.Time
	waitWithin(t, "a replica claims the first step and hangs paging alice", 10*time.Second, func() bool {
		end, held := leaseEnd(t, redisAddr, id)
		inc := getIncident(t, base, id)
		claimEnds = end
		return held && len(inc.Pending) == 1 && inc.Pending[0].User == "alice" && inc.Escalation.Step == 0
	})
	require.Empty(t, pagesSent(getIncident(t, base, id)))
	return claimEnds
}

// TestLeaseKill9 kills -9 the replica that holds the claim on a step while
// it sends the step's page, and the other replica pages that step once
// the claim's lease ends: a crash delays a page by at most the lease and
// never loses it. Replica A runs alone until it has claimed the first
// step's timer and hangs in the page (Twilio holds its request); B
// starts; A is killed; B pages the step once, not before A's lease ends,
// and the next step on time.
func TestLeaseKill9(t *testing.T) {
	t.Parallel() // it waits on real time (leases, steps) more than it works
	const lease, escalateAfter = 2 * time.Second, 4 * time.Second
	bin := buildKlaxon(t)
	redis := redistest.Start(t, "--appendonly", "yes")
	tw := twiliotest.Start(t)
	config := writeConfig(t, escalateAfter)
	useRedis(t, config, redis.Addr())
	useTwilio(t, config, tw)
	flags := []string{"--engine-lease", lease.String()}
	arrived, release := tw.Hold(alicePhone)
	t.Cleanup(release)

	a := startBinary(t, bin, config, flags...)
	postFixture(t, a.base, "firing-two-alerts.json")
	id := findIncident(t, a.base, "HighErrorRate").ID
	select {
	case <-arrived:
	case <-time.After(10 * time.Second):
		t.Fatalf("A's SMS to alice never reached Twilio:\n%s", a.logs)
	}
	claimEnds := claimed(t, a.base, redis.Addr(), id)

	b := startBinary(t, bin, config, flags...)
	if time.Until(claimEnds) > 200*time.Millisecond {
		require.Empty(t, tw.Messages(), "B waits for A's lease")
	}
	require.NoError(t, a.cmd.Process.Kill())
	require.Error(t, <-a.done, "kill -9")
	killed := time.Now()

	sms := tw.WaitSMS(t, alicePhone) // B's, once A's lease has ended
	require.Contains(t, sms.Body, "#"+id)
	var inc *api.IncidentView
	waitWithin(t, "B records the page", 5*time.Second, func() bool {
		inc = getIncident(t, b.base, id)
		return len(pagesSent(inc)) == 1
	})
	for _, e := range inc.Timeline {
		if e.Kind == klaxon.EventPageSent {
			require.False(t, e.At.Before(claimEnds), "B paged at %s, before A's lease ended at %s", e.At, claimEnds)
			t.Logf("A killed %s before its lease ended; B paged %s after it ended", claimEnds.Sub(killed).Round(time.Millisecond), e.At.Sub(claimEnds).Round(time.Millisecond))
		}
	}

	waitWithin(t, "B pages the second step, bob, on time", escalateAfter+10*time.Second, func() bool {
		return len(pagesSent(getIncident(t, b.base, id))) == 2
	})
	require.Equal(t, []string{"alice", "bob"}, pagesSent(getIncident(t, b.base, id)), "each step paged once on the timeline")
	require.Equal(t, []string{"bob"}, pagedUsers(b.logs, id), "bob's mail, on B's console")
	require.Len(t, tw.Messages(), 1, "A never completed its page to alice")
}

// stall is a console that holds the first page sent through it until
// released, whatever its context says: a replica frozen in the middle of
// a page. It records the pages it completes, as startServe's console.
type stall struct {
	served
	held, release chan struct{}
	once          sync.Once
}

func newStall() *stall { return &stall{held: make(chan struct{}), release: make(chan struct{})} }

func (s *stall) Send(ctx context.Context, p klaxon.Page) error {
	first := false
	s.once.Do(func() { first = true; close(s.held) })
	if first {
		<-s.release
	}
	return s.served.Send(ctx, p)
}

// TestLeaseStalledReplica is the price of a lease: a replica that stalls
// in the middle of a page for longer than its page timeout (a provider
// that hangs, a frozen VM) is taken over once it stops renewing its claim,
// and when it comes back it finishes the page it had begun. The step
// pages twice, once late: at most one repeated page, never a missed one.
// Until the page timeout, the live replica keeps its claim: the other
// does not page. Both replicas run in-process; A's console stalls.
func TestLeaseStalledReplica(t *testing.T) {
	t.Parallel() // it waits on real time (leases, steps) more than it works
	const lease, escalateAfter, pageTimeout = 1 * time.Second, 6 * time.Second, 3 * time.Second
	redis := redistest.Start(t, "--appendonly", "yes")
	config := writeConfig(t, escalateAfter)
	useRedis(t, config, redis.Addr())
	aConsole, bConsole := newStall(), newStall()
	close(bConsole.release) // B never stalls
	// A claims only when something wakes it, so that B, polling, takes
	// the incident as soon as A's claim lapses.
	a, _ := klaxontest.Serve(t, app.Options{ConfigPath: config, Console: aConsole, Lease: lease, Poll: time.Hour, PageTimeout: pageTimeout})
	t.Cleanup(func() {
		select {
		case <-aConsole.release:
		default:
			close(aConsole.release) // so that A can stop
		}
	})
	aBase := "http://" + a.Addrs()[0]
	postFixture(t, aBase, "firing-two-alerts.json")
	id := findIncident(t, aBase, "HighErrorRate").ID
	select {
	case <-aConsole.held:
	case <-time.After(10 * time.Second):
		t.Fatal("A never paged alice")
	}
	claimEnds := claimed(t, aBase, redis.Addr(), id)
	_, holder := leaseHolder(t, redis.Addr(), id)

	b, _ := klaxontest.Serve(t, app.Options{ConfigPath: config, Console: bConsole, Lease: lease, PageTimeout: pageTimeout})
	bBase := "http://" + b.Addrs()[0]
	// A renews its claim while its page hangs, up to the page timeout:
	// its lease outlasts the first one by more than a lease, under the
	// same token, so B cannot have taken the step meanwhile.
	waitWithin(t, "A renews its claim while its page hangs", 10*time.Second, func() bool {
		end, token := leaseHolder(t, redis.Addr(), id)
		require.Equal(t, holder, token, "the claim changed hands while A renewed it")
		return end.After(claimEnds.Add(lease))
	})
	require.Empty(t, pagedUsers(bConsole, id), "B paged while A held the claim")
	waitWithin(t, "B pages alice once A's lease has ended", lease+10*time.Second, func() bool {
		return len(pagesSent(getIncident(t, bBase, id))) == 1
	})
	require.Equal(t, []string{"alice"}, pagedUsers(bConsole, id))
	close(aConsole.release) // A comes back and finishes its page, late
	waitWithin(t, "the second step pages bob", escalateAfter+10*time.Second, func() bool {
		return slices.Contains(pagesSent(getIncident(t, bBase, id)), "bob")
	})
	var paged []string
	waitWithin(t, "the consoles show A's late page and bob's", 5*time.Second, func() bool {
		paged = append(pagedUsers(aConsole, id), pagedUsers(bConsole, id)...)
		return len(paged) >= 3
	})
	require.Contains(t, pagedUsers(aConsole, id), "alice", "A's late page is the repeat")
	slices.Sort(paged)
	require.Equal(t, []string{"alice", "alice", "bob"}, paged, "alice once more, late; bob once")

	// The timeline records both of alice's pages, as she got both: A
	// records what it sent even after its lease ended.
	var sent []string
	waitWithin(t, "A's late page is on the timeline", 10*time.Second, func() bool {
		sent = pagesSent(getIncident(t, bBase, id))
		return len(sent) == 3
	})
	slices.Sort(sent)
	require.Equal(t, []string{"alice", "alice", "bob"}, sent, "alice twice, bob once")
	t.Logf("pages sent on the timeline: %v", sent)
}
