package main

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/api"
	"github.com/klaxonhq/klaxon/internal/redistest"
	"github.com/klaxonhq/klaxon/notify/webhook"
)

// slowReceiver is a webhook receiver that takes delay to answer each
// page, as a slow provider does. Each replica posts to its own path, so
// the receiver knows who sent what.
type slowReceiver struct {
	*httptest.Server
	delay time.Duration

	mu       sync.Mutex
	received []receipt
	answered map[string]time.Time // incident → when its first page was answered
}

// receipt is one page as the receiver got it.
type receipt struct {
	incident     string
	notification int
	user         string
	sender       string // the path: the replica's name
	at           time.Time
}

// key names a page: one per (incident, step, user, rule).
func (r receipt) key() string { return fmt.Sprintf("%s/%d", r.incident, r.notification) }

func newSlowReceiver(t testing.TB, delay time.Duration) *slowReceiver {
	s := &slowReceiver{delay: delay, answered: map[string]time.Time{}}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var p webhook.Payload
		if err := json.Unmarshal(body, &p); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		s.mu.Lock()
		s.received = append(s.received, receipt{p.Incident, p.Notification, p.User, r.URL.Path[1:], time.Now()})
		s.mu.Unlock()
		select {
		case <-time.After(s.delay):
		case <-r.Context().Done():
			return
		}
		s.mu.Lock()
		if _, ok := s.answered[p.Incident]; !ok {
			s.answered[p.Incident] = time.Now()
		}
		s.mu.Unlock()
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *slowReceiver) pages() []receipt {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.received)
}

// firstAnswered returns, per incident, when the receiver answered its
// first page: when the page had gone out.
func (s *slowReceiver) firstAnswered() map[string]time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.answered)
}

// stormConfig writes a config for replica name on Redis at addr: the
// two-step policy of writeConfig, alice then bob, both paged by webhook
// to the receiver's path /name.
func stormConfig(t testing.TB, name, receiverURL, addr string, escalateAfter time.Duration) string {
	config := writeConfig(t, escalateAfter)
	useRedis(t, config, addr)
	rewrite(t, config, "notify:\n  console: {}\n", "notify:\n  console: {}\n  webhook: {url: \""+receiverURL+"/"+name+"\"}\n")
	users := filepath.Join(filepath.Dir(config), "users.yaml")
	rewrite(t, users, "{via: sms, after: 0s}", "{via: webhook, after: 0s}")
	rewrite(t, users, "{via: email, after: 0s}", "{via: webhook, after: 0s}")
	return config
}

// openStorm opens n incidents at once, one alert group each, posting to
// the replicas in turn, and returns when the last post was answered.
func openStorm(t testing.TB, replicas []*proc, first, n int) {
	var wg sync.WaitGroup
	answers := make([]answer, n)
	for i := range n {
		wg.Go(func() {
			answers[i] = deliver(replicas[i%len(replicas)].base, amWebhook([]fakeAlert{{group: first + i}}))
		})
	}
	wg.Wait()
	for i, a := range answers {
		require.NoError(t, a.err, "post %d", i)
		require.Equal(t, http.StatusOK, a.code, "post %d: %v", i, a.body)
	}
}

// waitExhausted waits until every incident walked both steps, and reads
// them with their timelines.
func waitExhausted(t testing.TB, base string, n int, timeout time.Duration) []*api.IncidentView {
	var incs []*klaxon.Incident
	waitWithin(t, "every incident paged both steps and is exhausted", timeout, func() bool {
		incs = listIncidents(t, base, "all")
		if len(incs) != n {
			return false
		}
		for _, inc := range incs {
			if !inc.Escalation.Done {
				return false
			}
		}
		return true
	})
	views := make([]*api.IncidentView, len(incs))
	for i, inc := range incs {
		views[i] = getIncident(t, base, inc.ID)
	}
	return views
}

// latest is the latest of times.
func latest(times map[string]time.Time) time.Time {
	var last time.Time
	for _, at := range times {
		if at.After(last) {
			last = at
		}
	}
	return last
}

// TestStormTwoReplicas opens 50 incidents at once on two replicas sharing
// Redis, with a webhook receiver that takes 0.8 s per page: each step of
// each incident pages its user exactly once, none missed, and the pages
// go out together rather than one after another.
func TestStormTwoReplicas(t *testing.T) {
	t.Parallel() // it waits on real time (leases, steps) more than it works
	const incidents, delay, escalateAfter = 50, 800 * time.Millisecond, 4 * time.Second
	bin := buildKlaxon(t)
	redis := redistest.Start(t, "--appendonly", "yes")
	recv := newSlowReceiver(t, delay)
	replicas := []*proc{
		startBinary(t, bin, stormConfig(t, "a", recv.URL, redis.Addr(), escalateAfter)),
		startBinary(t, bin, stormConfig(t, "b", recv.URL, redis.Addr(), escalateAfter)),
	}

	start := time.Now()
	openStorm(t, replicas, 0, incidents)
	incs := waitExhausted(t, replicas[0].base, incidents, 60*time.Second)
	pages := recv.pages()

	byKey := map[string][]receipt{}
	for _, p := range pages {
		byKey[p.key()] = append(byKey[p.key()], p)
	}
	for _, inc := range incs {
		require.Equal(t, []string{"alice", "bob"}, pagesSent(inc), "incident %s: each step once on the timeline", inc.ID)
		var users []string
		for _, p := range pages {
			if p.incident == inc.ID {
				users = append(users, p.user)
			}
		}
		slices.Sort(users)
		require.Equal(t, []string{"alice", "bob"}, users, "incident %s: each step's page reached the receiver once", inc.ID)
	}
	for k, ps := range byKey {
		require.Len(t, ps, 1, "page %s received %d times", k, len(ps))
	}
	require.Len(t, pages, 2*incidents)

	senders := map[string]int{}
	for _, p := range pages {
		senders[p.sender]++
	}
	t.Logf("%d pages, by replica %v; the last incident's first page went out %s after the storm began",
		len(pages), senders, latest(recv.firstAnswered()).Sub(start).Round(time.Millisecond))
}

// TestStormKill9 is the storm of TestStormTwoReplicas with replica a
// killed (kill -9) while its pages are in flight: replica b pages what a
// did not record once a's claims lapse. No page is missed, and a page is
// repeated only if a had begun it before it died and not recorded it: at
// most once per claim, and once on the timeline.
func TestStormKill9(t *testing.T) {
	t.Parallel() // it waits on real time (leases, steps) more than it works
	const incidents, delay, escalateAfter, lease = 50, 800 * time.Millisecond, 5 * time.Second, 2 * time.Second
	bin := buildKlaxon(t)
	redis := redistest.Start(t, "--appendonly", "yes")
	recv := newSlowReceiver(t, delay)
	leaseFlag := []string{"--engine-lease", lease.String()}
	a := startBinary(t, bin, stormConfig(t, "a", recv.URL, redis.Addr(), escalateAfter), leaseFlag...)
	b := startBinary(t, bin, stormConfig(t, "b", recv.URL, redis.Addr(), escalateAfter), leaseFlag...)

	openStorm(t, []*proc{a, b}, 0, incidents)
	fromA := func() int {
		n := 0
		for _, p := range recv.pages() {
			if p.sender == "a" {
				n++
			}
		}
		return n
	}
	waitWithin(t, "a is sending pages", 10*time.Second, func() bool { return fromA() >= 5 })
	require.NoError(t, a.cmd.Process.Kill())
	<-a.done

	incs := waitExhausted(t, b.base, incidents, 60*time.Second)
	pages := recv.pages()
	byKey := map[string][]receipt{}
	for _, p := range pages {
		byKey[p.key()] = append(byKey[p.key()], p)
	}
	repeats := 0
	for _, inc := range incs {
		var users []string
		for _, p := range pages {
			if p.incident == inc.ID {
				users = append(users, p.user)
			}
		}
		slices.Sort(users)
		users = slices.Compact(users)
		require.Equal(t, []string{"alice", "bob"}, users, "incident %s: no page missed", inc.ID)
		// A page a had begun and not recorded is recorded once, by b; a
		// page a had recorded and b sent again would be there twice.
		require.Equal(t, []string{"alice", "bob"}, pagesSent(inc), "incident %s: each step once on the timeline", inc.ID)
	}
	for k, ps := range byKey {
		require.LessOrEqual(t, len(ps), 2, "page %s received %d times", k, len(ps))
		if len(ps) == 2 {
			repeats++
			// The repeat is b's of a page a had begun (the timeline
			// above says a had not recorded it). The receiver stamps a
			// page once it has read it, which may be after a's death
			// for bytes a wrote before.
			require.Equal(t, "a", ps[0].sender, "page %s: the first copy is the dead replica's", k)
			require.Equal(t, "b", ps[1].sender, "page %s: the repeat is the live replica's", k)
		}
	}
	t.Logf("%d pages, %d repeated (begun by a before kill -9)", len(pages), repeats)
}

// BenchmarkStorm opens 50 incidents at once on one replica and on two,
// sharing Redis, with a webhook receiver that takes 0.8 s per page, and
// reports the time from the storm's start to the last incident's first
// page going out, answered by the receiver (s/last-first-page), and the
// pages the receiver got per incident once every replica has exited
// (pages/incident: 1 when none is sent twice). See docs/benchmarks.md.
func BenchmarkStorm(b *testing.B) {
	const incidents, delay = 50, 800 * time.Millisecond
	bin := buildKlaxon(b)
	for _, n := range []int{1, 2} {
		b.Run(fmt.Sprintf("replicas=%d", n), func(b *testing.B) {
			redis := redistest.Start(b, "--appendonly", "yes")
			recv := newSlowReceiver(b, delay)
			var replicas []*proc
			for i := range n {
				replicas = append(replicas, startBinary(b, bin, stormConfig(b, string(rune('a'+i)), recv.URL, redis.Addr(), time.Hour)))
			}
			var total time.Duration
			b.ResetTimer()
			for i := range b.N {
				seen := len(recv.firstAnswered())
				start := time.Now()
				openStorm(b, replicas, i*incidents, incidents)
				waitWithin(b, "every incident's first page went out", 5*time.Minute, func() bool {
					return len(recv.firstAnswered()) == seen+incidents
				})
				total += latest(recv.firstAnswered()).Sub(start)
			}
			b.StopTimer()
			// Once every replica has exited no page can come any more:
			// what the receiver got is all that was sent, twice or not.
			for _, r := range replicas {
				require.NoError(b, r.signal(b, syscall.SIGTERM), "SIGTERM is a clean exit:\n%s", r.logs)
			}
			b.ReportMetric(total.Seconds()/float64(b.N), "s/last-first-page")
			b.ReportMetric(float64(len(recv.pages()))/float64(b.N*incidents), "pages/incident")
		})
	}
}
