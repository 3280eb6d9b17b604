package main

import (
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon/internal/redistest"
)

// readyz returns the status of GET /readyz, 0 when there was no answer.
func readyz(base string) int {
	resp, err := loadClient.Get(base + "/readyz")
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestRedisOutageUnderLoad stops Redis in the middle of a load of
// concurrent deliveries of distinct alerts and starts it again. While
// Redis is down, ingest answers 503 with a JSON error and /readyz 503, and
// klaxon stays up; once Redis is back it serves again by itself. Senders
// retry what was refused, as Alertmanager does. Afterwards every alert of
// every delivery answered 2xx is in an incident.
func TestRedisOutageUnderLoad(t *testing.T) {
	t.Parallel() // it waits on real time (leases, steps) more than it works
	bin := buildKlaxon(t)
	redis := redistest.Start(t, "--appendonly", "yes")
	config := writeConfig(t, time.Hour)
	useRedis(t, config, redis.Addr())
	p := startBinary(t, bin, config)

	const workers, perBody, groups = 16, 4, 20
	// body returns delivery n: perBody alerts no other delivery has,
	// spread over the groups.
	body := func(n int) []fakeAlert {
		out := make([]fakeAlert, perBody)
		for i := range out {
			k := n*perBody + i
			out[i] = fakeAlert{group: k % groups, instance: k / groups}
		}
		return out
	}

	var (
		next           atomic.Int64 // the next delivery to send
		accepted       atomic.Int64 // deliveries answered 2xx
		refused        atomic.Int64 // answers 503
		stop           = make(chan struct{})
		mu             sync.Mutex
		acceptedAlerts []fakeAlert // every alert of a delivery answered 2xx
		refusal        answer      // one 503 answer
		other          []answer    // answers neither 2xx nor 503
	)
	// A refused delivery is retried until it is accepted, however long
	// the outage and a loaded machine take, as Alertmanager would; giveUp
	// ends the retries once the test has failed.
	giveUp := make(chan struct{})
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				alerts := body(int(next.Add(1) - 1))
				b := amWebhook(alerts)
				// Retry until accepted, as Alertmanager would.
				for {
					a := deliver(p.base, b)
					if a.err == nil && a.code == http.StatusOK {
						accepted.Add(1)
						mu.Lock()
						acceptedAlerts = append(acceptedAlerts, alerts...)
						mu.Unlock()
						break
					}
					mu.Lock()
					if a.err == nil && a.code == http.StatusServiceUnavailable {
						refused.Add(1)
						refusal = a
					} else {
						other = append(other, a)
					}
					mu.Unlock()
					select {
					case <-giveUp:
						return
					case <-time.After(20 * time.Millisecond):
					}
				}
			}
		})
	}
	defer func() {
		select {
		case <-stop:
		default:
			close(stop)
		}
		close(giveUp)
		wg.Wait()
	}()

	waitWithin(t, "a first load is accepted", 30*time.Second, func() bool { return accepted.Load() >= 100 })
	redis.Stop(t)
	before := accepted.Load()
	waitWithin(t, "ingest refuses with 503 and /readyz fails while Redis is down", 30*time.Second, func() bool {
		return refused.Load() >= workers && readyz(p.base) == http.StatusServiceUnavailable
	})
	select {
	case err := <-p.done:
		t.Fatalf("klaxon exited while Redis was down: %v\n%s", err, p.logs)
	default:
	}
	mu.Lock()
	require.Equal(t, "application/json", refusal.contentType)
	require.NotEmpty(t, refusal.body["error"], "a JSON error: %v", refusal.body)
	mu.Unlock()
	t.Logf("Redis stopped after %d deliveries; %d accepted during the outage (in flight), %d refusals", before, accepted.Load()-before, refused.Load())

	redis.Restart(t)
	waitWithin(t, "/readyz is ready again by itself", 30*time.Second, func() bool { return readyz(p.base) == http.StatusOK })
	resumed := accepted.Load()
	waitWithin(t, "the load is accepted again", 30*time.Second, func() bool { return accepted.Load() >= resumed+100 })
	close(stop)
	sent := make(chan struct{})
	go func() { wg.Wait(); close(sent) }()
	waitWithin(t, "every delivery sent is accepted, retried where it was refused", 30*time.Second, func() bool {
		select {
		case <-sent:
			return true
		default:
			return false
		}
	})

	mu.Lock()
	defer mu.Unlock()
	require.Empty(t, other, "answers neither 200 nor 503")
	require.Equal(t, int(next.Load()), int(accepted.Load()), "every delivery was accepted in the end, retried where it was refused")
	// Every alert answered 2xx is in an incident: none is missing.
	found := map[string]int{}
	incs := listIncidents(t, p.base, "all")
	require.Len(t, incs, groups)
	for _, inc := range incs {
		for _, a := range getIncident(t, p.base, inc.ID).Alerts {
			found[a.Key]++
		}
	}
	var missing []string
	for _, a := range acceptedAlerts {
		if found[a.key()] != 1 {
			missing = append(missing, a.key())
		}
	}
	require.Empty(t, missing, "alerts answered 2xx but not in exactly one incident")
	require.Len(t, found, len(acceptedAlerts), "no alert that was not sent")
	t.Logf("%d deliveries, %d alerts accepted, %d refusals while Redis was down", accepted.Load(), len(acceptedAlerts), refused.Load())
}
