package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The probe measures how long a new incident takes to page: it sends
// --rate alerts a second, each of a group of its own so that each opens an
// incident, and receives the pages itself, as the server's webhook
// receiver, on --listen. Each alert's summary carries the run and its
// number, and so does the page (Klaxon's JSON page has the incident's
// summary; Alertmanager's webhook has the alerts' annotations), so a page
// is matched to its alert by its text alone. The latency is from the start
// of the alert's POST to the page's arrival.
//
// With --ack-token (an API token of Klaxon's, of scope act), the probe
// also answers each page as a responder does: it acknowledges the
// incident the page names (POST /v1/incidents/{id}/ack) as it arrives,
// and measures from the page's arrival to the answer. During a storm that
// is how long a person's act waits behind ingest.
//
//	klaxon-load probe --url http://127.0.0.1:8080 --listen 127.0.0.1:9099 --rate 50 --duration 15s
//
// with, in klaxon.yaml, notify: {webhook: {url: "http://127.0.0.1:9099/",
// format: json}} and a user paged by {via: webhook, after: 0s}.

// probeOptions are a probe's settings, from the flags.
type probeOptions struct {
	url, token, format string
	ackToken           string
	listen             string
	rate               int
	duration, grace    time.Duration
}

func runProbe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("klaxon-load probe", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o probeOptions
	fs.StringVar(&o.url, "url", "http://127.0.0.1:8080", "base URL of the server; the path comes from --format")
	fs.StringVar(&o.token, "token", "dev-prometheus-token", "bearer token of the integration (none is sent when empty); with --format pagerduty, the routing_key")
	fs.StringVar(&o.format, "format", formatWebhook, "webhook, alertmanager-api or pagerduty, as for a load")
	fs.StringVar(&o.ackToken, "ack-token", "", "API token (scope act) to acknowledge each page's incident with as it arrives, timing page → ack; empty: no acks (a page without an incident, Alertmanager's, is not acknowledged)")
	fs.StringVar(&o.listen, "listen", "127.0.0.1:0", "address to receive the pages on, the server's webhook URL")
	fs.IntVar(&o.rate, "rate", 50, "new incidents a second")
	fs.DurationVar(&o.duration, "duration", 15*time.Second, "how long to send")
	fs.DurationVar(&o.grace, "grace", 5*time.Second, "how long to wait for the last pages once sending ends")
	if err := fs.Parse(args); err != nil {
		return err
	}
	path, err := pathOf(o.format)
	switch {
	case fs.NArg() > 0:
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	case err != nil:
		return err
	case o.rate < 1 || o.duration <= 0 || o.grace < 0:
		return errors.New("--rate and --duration must be positive and --grace not negative")
	}
	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return fmt.Errorf("listen for pages: %w", err)
	}
	url := strings.TrimSuffix(o.url, "/") + path
	fmt.Fprintf(stdout, "klaxon-load probe: %s, %s, %d new incidents/s for %s, pages received at http://%s/\n",
		url, o.format, o.rate, o.duration, ln.Addr())
	r, err := probe(ctx, o, url, ln)
	if err != nil {
		return err
	}
	r.print(stdout)
	if len(r.pages) == 0 {
		return fmt.Errorf("no page received (%d sent, %d refused)", r.sent, r.errors)
	}
	return nil
}

// probeText is the summary of alert n of run: "klaxon-load probe 1a2b3c4d 17".
func probeText(run string, n int) string { return fmt.Sprintf("klaxon-load probe %s %d", run, n) }

var probeRE = regexp.MustCompile(`klaxon-load probe ([0-9a-f]{8}) ([0-9]+)`)

// probeIDs returns the numbers of run's alerts that a page's body names.
func probeIDs(page []byte, run string) []int {
	var ns []int
	for _, m := range probeRE.FindAllSubmatch(page, -1) {
		if string(m[1]) != run {
			continue
		}
		if n, err := strconv.Atoi(string(m[2])); err == nil {
			ns = append(ns, n)
		}
	}
	return ns
}

// probeBody is alert n of run in format: firing since at, in a group of its
// own (alertname, and the PagerDuty group), its summary probeText.
func probeBody(format, token, run string, n int, at time.Time) ([]byte, error) {
	text := probeText(run, n)
	group := fmt.Sprintf("Probe%s%06d", run, n)
	switch format {
	case formatPagerDuty:
		return json.Marshal(pdEvent{
			RoutingKey: token, EventAction: "trigger", DedupKey: group,
			Payload: pdPayload{Summary: text, Source: "probe", Severity: "critical", Group: group, Timestamp: at.UTC().Format(stampLayout)},
		})
	case formatWebhook, formatAlertmanagerAPI:
	default:
		return nil, fmt.Errorf("unknown format %q", format)
	}
	a := amAlert{
		Labels:       map[string]string{"alertname": group, "service": "probe", "severity": "critical"},
		Annotations:  map[string]string{"summary": text},
		StartsAt:     at.UTC().Format(stampLayout),
		GeneratorURL: "http://prometheus:9090/graph?g0.expr=up",
	}
	if format == formatAlertmanagerAPI {
		return json.Marshal([]amAlert{a})
	}
	a.Status, a.EndsAt, a.Fingerprint = "firing", "0001-01-01T00:00:00Z", run+strconv.Itoa(n)
	return json.Marshal(map[string]any{
		"version": "4", "status": "firing", "receiver": "klaxon",
		"groupKey": "{}:{alertname=\"" + group + "\"}", "truncatedAlerts": 0, "externalURL": "http://alertmanager:9093",
		"groupLabels": map[string]string{"alertname": group}, "commonLabels": a.Labels,
		"commonAnnotations": a.Annotations, "alerts": []amAlert{a},
	})
}

// probeResult is what a probe saw.
type probeResult struct {
	sent, errors int
	sending      time.Duration   // from the first alert sent to the last
	samples      []string        // the first few errors
	pages        []time.Duration // alert sent → page received, sorted
	posts        []time.Duration // alert sent → answered, of those accepted, sorted
	acks         []time.Duration // page received → its incident acknowledged, sorted
	ackErrors    int
}

// probe sends o.rate alerts a second to url for o.duration, receives the
// pages on ln, and waits up to o.grace for the last of them.
func probe(ctx context.Context, o probeOptions, url string, ln net.Listener) (probeResult, error) {
	var b [4]byte
	_, _ = rand.Read(b[:]) // never fails, see crypto/rand.Read
	run := hex.EncodeToString(b[:])

	var (
		mu       sync.Mutex
		sent     = map[int]time.Time{}
		received = map[int]time.Time{}
		r        probeResult
		all      = make(chan struct{}) // closed when every alert sent has paged
		done     bool                  // sending is over
		acks     sync.WaitGroup        // the acknowledgements on their way
		stopped  bool                  // the results are taken: no ack starts
	)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64, DisableCompression: true}, Timeout: 30 * time.Second}
	// ack acknowledges incident id, paged at paged, as a responder does.
	ack := func(id string, paged time.Time) {
		err := post(ctx, client, strings.TrimSuffix(o.url, "/")+"/v1/incidents/"+id+"/ack", o.ackToken, nil)
		took := time.Since(paged)
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			r.ackErrors++
			if len(r.samples) < 3 {
				r.samples = append(r.samples, "ack "+id+": "+err.Error())
			}
			return
		}
		r.acks = append(r.acks, took)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		page, _ := io.ReadAll(io.LimitReader(req.Body, 1<<20))
		at := time.Now()
		mu.Lock()
		fresh := false
		for _, n := range probeIDs(page, run) {
			if _, ok := received[n]; !ok {
				received[n], fresh = at, true
			}
		}
		if id := pageIncident(page); fresh && !stopped && o.ackToken != "" && id != "" {
			acks.Go(func() { ack(id, at) })
		}
		if done && len(received) >= len(sent) {
			select {
			case <-all:
			default:
				close(all)
			}
		}
		mu.Unlock()
		w.WriteHeader(http.StatusOK)
	}), ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	defer func() {
		_ = srv.Close()
		<-served
	}()

	// Alert n goes at begin + n/rate: a sender that falls behind catches
	// up, so that the run sends rate × duration alerts.
	every := time.Second / time.Duration(o.rate)
	begin := time.Now()
	total := int(o.duration / every)
	var wg sync.WaitGroup
send:
	for n := range total {
		if wait := time.Until(begin.Add(time.Duration(n) * every)); wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				break send
			case <-t.C:
			}
		}
		wg.Go(func() {
			start := time.Now()
			data, err := probeBody(o.format, o.token, run, n, start)
			if err != nil {
				panic(err) // the format was checked
			}
			mu.Lock()
			sent[n] = start
			mu.Unlock()
			token := o.token
			if o.format == formatPagerDuty {
				token = ""
			}
			err = post(ctx, client, url, token, data)
			answered := time.Since(start)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				r.errors++
				if len(r.samples) < 3 {
					r.samples = append(r.samples, err.Error())
				}
				delete(sent, n) // refused: no page to wait for
				return
			}
			r.posts = append(r.posts, answered)
		})
	}
	r.sending = time.Since(begin)
	wg.Wait()
	mu.Lock()
	done = true
	if len(received) >= len(sent) {
		close(all)
	}
	mu.Unlock()
	select {
	case <-all:
	case <-time.After(o.grace):
	case <-ctx.Done():
	}
	mu.Lock()
	stopped = true // a page still on its way starts no ack that nothing would count
	mu.Unlock()
	acks.Wait()
	mu.Lock()
	defer mu.Unlock()
	r.sent = len(sent) + r.errors
	for n, at := range received {
		if start, ok := sent[n]; ok {
			r.pages = append(r.pages, at.Sub(start))
		}
	}
	slices.Sort(r.pages)
	slices.Sort(r.posts)
	slices.Sort(r.acks)
	return r, nil
}

// pageIncident is the incident a page of Klaxon's webhook (JSON) names;
// "" for another body.
func pageIncident(page []byte) string {
	var p struct {
		Incident string `json:"incident"`
	}
	_ = json.Unmarshal(page, &p) // not Klaxon's page: no incident
	return p.Incident
}

func (r probeResult) print(w io.Writer) {
	var slowest time.Duration
	if len(r.pages) > 0 {
		slowest = r.pages[len(r.pages)-1].Round(100 * time.Microsecond)
	}
	rate := 0.0
	if r.sending > 0 {
		rate = float64(r.sent) / r.sending.Seconds()
	}
	fmt.Fprintf(w, "pages %d of %d alerts sent at %.0f/s (%d refused, %d without a page)  alert→page p50 %s  p99 %s  max %s  post p50 %s  p99 %s\n",
		len(r.pages), r.sent, rate, r.errors, r.sent-r.errors-len(r.pages),
		percentile(r.pages, 0.50), percentile(r.pages, 0.99), slowest, percentile(r.posts, 0.50), percentile(r.posts, 0.99))
	if len(r.acks) > 0 || r.ackErrors > 0 {
		fmt.Fprintf(w, "acks %d (%d failed)  page→ack p50 %s  p99 %s  max %s\n",
			len(r.acks), r.ackErrors, percentile(r.acks, 0.50), percentile(r.acks, 0.99), percentile(r.acks, 1))
	}
	for _, s := range r.samples {
		fmt.Fprintln(w, "error:", s)
	}
}
