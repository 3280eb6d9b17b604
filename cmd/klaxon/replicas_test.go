package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/api"
	"github.com/klaxonhq/klaxon/internal/redistest"
)

// fakeAlert is one alert of the generated Alertmanager deliveries: group
// g (alertname Scale<g>, service scale), instance i.
type fakeAlert struct{ group, instance int }

func (a fakeAlert) alertname() string   { return fmt.Sprintf("Scale%03d", a.group) }
func (a fakeAlert) fingerprint() string { return fmt.Sprintf("%08x%08x", a.group, a.instance) }

// key is the alert's key in Klaxon: the integration of the test config
// and the fingerprint.
func (a fakeAlert) key() string { return klaxon.AlertKey("prometheus", a.fingerprint()) }

// alertsStartedAt is every generated alert's startsAt: a delivery sent
// again changes no alert's count.
var alertsStartedAt = time.Date(2026, 11, 23, 23, 0, 0, 0, time.UTC)

// amWebhook returns an Alertmanager webhook (version 4) body firing alerts.
func amWebhook(alerts []fakeAlert) []byte {
	type amAlert struct {
		Status       string            `json:"status"`
		Labels       map[string]string `json:"labels"`
		Annotations  map[string]string `json:"annotations"`
		StartsAt     time.Time         `json:"startsAt"`
		EndsAt       string            `json:"endsAt"`
		GeneratorURL string            `json:"generatorURL"`
		Fingerprint  string            `json:"fingerprint"`
	}
	body := map[string]any{
		"version": "4", "status": "firing", "receiver": "klaxon", "externalURL": "http://alertmanager:9093",
		"groupKey": "{}:{}", "truncatedAlerts": 0,
		"groupLabels": map[string]string{}, "commonLabels": map[string]string{}, "commonAnnotations": map[string]string{},
	}
	list := make([]amAlert, len(alerts))
	for i, a := range alerts {
		list[i] = amAlert{
			Status:      "firing",
			Labels:      map[string]string{"alertname": a.alertname(), "service": "scale", "instance": fmt.Sprintf("10.0.%d.%d:9100", a.group, a.instance)},
			Annotations: map[string]string{"summary": a.alertname() + " is firing"},
			StartsAt:    alertsStartedAt, EndsAt: "0001-01-01T00:00:00Z",
			GeneratorURL: "http://prometheus:9090/graph", Fingerprint: a.fingerprint(),
		}
	}
	body["alerts"] = list
	b, err := json.Marshal(body)
	if err != nil {
		panic(err)
	}
	return b
}

// loadClient keeps enough idle connections for hundreds of posts at once.
var loadClient = &http.Client{
	Transport: &http.Transport{MaxIdleConns: 512, MaxIdleConnsPerHost: 256},
	Timeout:   30 * time.Second,
}

// answer is what one webhook delivery got back.
type answer struct {
	code        int
	contentType string
	body        map[string]any
	err         error
}

// deliver posts an Alertmanager webhook body to base. It may run on any
// goroutine: it reports failures in its answer instead of failing t.
func deliver(base string, body []byte) answer {
	req, err := http.NewRequest(http.MethodPost, base+"/v1/ingest/alertmanager", bytes.NewReader(body))
	if err != nil {
		return answer{err: err}
	}
	req.Header.Set("Authorization", "Bearer "+amToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := loadClient.Do(req)
	if err != nil {
		return answer{err: err}
	}
	defer resp.Body.Close()
	a := answer{code: resp.StatusCode, contentType: resp.Header.Get("Content-Type")}
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		a.err = err
		return a
	}
	if err := json.Unmarshal(raw, &a.body); err != nil {
		a.err = fmt.Errorf("answer %d is not JSON: %q", resp.StatusCode, raw)
	}
	return a
}

// pagesSent returns the users of the incident's page_sent events, in order.
func pagesSent(inc *api.IncidentView) []string {
	var users []string
	for _, e := range inc.Timeline {
		if e.Kind == klaxon.EventPageSent {
			users = append(users, e.User)
		}
	}
	return users
}

// TestReplicasShareRedis runs two `klaxon serve` on one Redis and posts
// the same alerts to both at once: hundreds of concurrent deliveries whose
// bodies mix alerts of several groups, each alert delivered many times to
// each replica. Exactly one incident opens per group, with each alert once
// and counted once, and each step of each incident pages exactly once
// across both replicas.
func TestReplicasShareRedis(t *testing.T) {
	t.Parallel() // it waits on real time (leases, steps) more than it works
	bin := buildKlaxon(t)
	redis := redistest.Start(t, "--appendonly", "yes")
	const escalateAfter = 2 * time.Second
	config := writeConfig(t, escalateAfter)
	useRedis(t, config, redis.Addr())
	replicas := []*proc{startBinary(t, bin, config), startBinary(t, bin, config)}

	const groups, perGroup, perBody, rounds = 20, 10, 5, 4
	var alerts []fakeAlert
	for g := range groups {
		for i := range perGroup {
			alerts = append(alerts, fakeAlert{g, i})
		}
	}
	// Each round delivers every alert once, in bodies of perBody alerts
	// drawn across groups, so that concurrent bodies touch the same groups.
	rng := rand.New(rand.NewPCG(3, 2026))
	var bodies [][]byte
	for range rounds {
		order := rng.Perm(len(alerts))
		for i := 0; i < len(order); i += perBody {
			var batch []fakeAlert
			for _, j := range order[i : i+perBody] {
				batch = append(batch, alerts[j])
			}
			bodies = append(bodies, amWebhook(batch))
		}
	}

	// Every body to both replicas, all posts released at once.
	answers := make([]answer, len(bodies)*len(replicas))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, body := range bodies {
		for j, r := range replicas {
			wg.Go(func() {
				<-start
				answers[i*len(replicas)+j] = deliver(r.base, body)
			})
		}
	}
	close(start)
	wg.Wait()
	for i, a := range answers {
		require.NoError(t, a.err, "post %d", i)
		require.Equal(t, http.StatusOK, a.code, "post %d: %v", i, a.body)
	}
	t.Logf("%d concurrent posts of %d alerts each, %d distinct alerts in %d groups", len(answers), perBody, len(alerts), groups)

	// One incident per group, seen alike through either replica.
	incs := listIncidents(t, replicas[0].base, "all")
	require.Len(t, incs, groups, "one incident per group")
	ids := map[string]string{} // alertname → incident
	for _, inc := range incs {
		name := inc.Labels["alertname"]
		require.NotContains(t, ids, name, "two incidents for %s", name)
		ids[name] = inc.ID
	}
	for g := range groups {
		name := fakeAlert{group: g}.alertname()
		require.Contains(t, ids, name)
		inc := getIncident(t, replicas[1].base, ids[name])
		var want, got []string
		for i := range perGroup {
			want = append(want, fakeAlert{g, i}.key())
		}
		for _, a := range inc.Alerts {
			got = append(got, a.Key)
			require.Equal(t, 1, a.Count, "%s: alert %s counted more than once", name, a.Key)
		}
		require.ElementsMatch(t, want, got, "%s: each alert of the group once", name)
	}

	// Both steps of each incident page, then the policy is exhausted.
	waitWithin(t, "every incident paged both steps and is exhausted", 10*escalateAfter, func() bool {
		for _, inc := range listIncidents(t, replicas[0].base, "all") {
			if !inc.Escalation.Done {
				return false
			}
		}
		return true
	})
	t.Logf("pages per replica: %d, %d", len(replicas[0].logs.pages()), len(replicas[1].logs.pages()))
	for name, id := range ids {
		inc := getIncident(t, replicas[0].base, id)
		require.Equal(t, []string{"alice", "bob"}, pagesSent(inc), "%s: each step paged once on the timeline", name)
		var paged []string
		for _, r := range replicas {
			for _, p := range r.logs.pagesFor(id) {
				paged = append(paged, p.user)
			}
		}
		slices.Sort(paged)
		require.Equal(t, []string{"alice", "bob"}, paged, "%s: each step paged once across both replicas' consoles", name)
	}
}
