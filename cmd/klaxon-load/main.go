// Command klaxon-load measures ingest throughput: it posts Alertmanager
// bodies of many alerts to a server from concurrent connections for a
// while, and prints alerts/s, bodies/s, latency percentiles and errors.
//
// Klaxon answers a webhook only once its alerts are committed, so the
// figures are of committed alerts. With --format alertmanager-api it posts
// the same alerts to Alertmanager's own POST /api/v2/alerts instead, to
// measure Alertmanager as the peer; with --format pagerduty it posts them
// one by one as PagerDuty Events API v2 triggers to Klaxon's /v2/enqueue.
// With --new-occurrences every cycle through the alerts starts them anew,
// so that every body changes what is stored; --first-cycle goes on from
// the cycles of an earlier run against the same server. See
// docs/benchmarks.md.
//
//	klaxon-load --url http://127.0.0.1:8080 --token dev-prometheus-token --duration 20s
//
// klaxon-load probe measures how long a new incident takes to page: see
// probe.go. klaxon-load sink takes Klaxon's traces and discards them: see
// sink.go.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	cmd, args := run, os.Args[1:]
	if len(args) > 0 {
		switch args[0] {
		case "probe":
			cmd, args = runProbe, args[1:]
		case "sink":
			cmd, args = runSink, args[1:]
		}
	}
	err := cmd(context.Background(), args, os.Stdout, os.Stderr)
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
	default:
		fmt.Fprintln(os.Stderr, "klaxon-load:", err)
		os.Exit(1)
	}
}

// options are a run's settings, from the flags.
type options struct {
	url, token, format string
	warmup, duration   time.Duration
	concurrency        int
	newOccurrences     bool
	firstCycle         int
	layout             layout
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("klaxon-load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	fs.StringVar(&o.url, "url", "http://127.0.0.1:8080", "base URL of the server; the path comes from --format")
	fs.StringVar(&o.token, "token", "dev-prometheus-token", "bearer token of an alertmanager integration (none is sent when empty); with --format pagerduty, the routing_key")
	fs.StringVar(&o.format, "format", formatWebhook, "webhook (Klaxon's /v1/ingest/alertmanager), alertmanager-api (Alertmanager's /api/v2/alerts) or pagerduty (Klaxon's /v2/enqueue, one alert per body)")
	fs.BoolVar(&o.newOccurrences, "new-occurrences", false, "start the alerts anew each cycle (a later startsAt or timestamp), so that no body repeats one already stored")
	fs.IntVar(&o.firstCycle, "first-cycle", 0, "with --new-occurrences, the number of the first cycle: a server that took that many cycles of the same alerts before (earlier runs) takes new occurrences from the first body on")
	fs.DurationVar(&o.duration, "duration", 20*time.Second, "how long to measure")
	fs.DurationVar(&o.warmup, "warmup", 2*time.Second, "how long to send before measuring")
	fs.IntVar(&o.concurrency, "concurrency", 64, "bodies in flight at once, one connection each")
	fs.IntVar(&o.layout.perBody, "alerts-per-body", 100, "alerts in each body")
	fs.IntVar(&o.layout.groups, "groups", 1000, "alert groups (distinct alertname labels)")
	fs.IntVar(&o.layout.distinct, "distinct", 100000, "distinct alerts, cycled through in order")
	fs.BoolVar(&o.layout.spread, "spread", false, "deal the alerts out to the groups round-robin, so that a body touches up to alerts-per-body groups (default: a group's alerts are consecutive, as in an Alertmanager webhook)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	path, err := pathOf(o.format)
	switch {
	case fs.NArg() > 0:
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	case err != nil:
		return err
	case o.format == formatPagerDuty && o.layout.perBody != 1:
		return errors.New("--format pagerduty sends one alert per body: want --alerts-per-body 1")
	case o.firstCycle < 0 || o.firstCycle > 0 && !o.newOccurrences:
		return errors.New("--first-cycle must not be negative, and needs --new-occurrences")
	case o.duration <= 0 || o.warmup < 0:
		return errors.New("--duration must be positive and --warmup not negative")
	case o.concurrency < 1 || o.layout.perBody < 1 || o.layout.groups < 1 || o.layout.distinct < o.layout.groups:
		return errors.New("--concurrency, --alerts-per-body and --groups must be positive, and --distinct at least --groups")
	}
	bodies, err := o.layout.bodies(o.format, o.token)
	if err != nil {
		return err
	}
	repeat := "repeats"
	if o.newOccurrences {
		repeat = "new occurrences"
	}
	fmt.Fprintf(stdout, "klaxon-load: %s%s, %s, %d connections, %d alerts per body, %d groups, %d distinct alerts (%d bodies a cycle, later cycles %s), warm-up %s, measured %s\n",
		strings.TrimSuffix(o.url, "/"), path, o.format, o.concurrency, o.layout.perBody, o.layout.groups, o.layout.distinct, len(bodies), repeat, o.warmup, o.duration)
	r := load(ctx, o, strings.TrimSuffix(o.url, "/")+path, bodies)
	r.print(stdout, o)
	if r.ok == 0 {
		return fmt.Errorf("no body accepted (%d errors)", r.errors)
	}
	return nil
}

// result is what the measured window saw.
type result struct {
	ok, errors int
	latencies  []time.Duration // of the bodies accepted
	samples    []string        // the first few errors
}

// load posts bodies, cycling through them, from o.concurrency workers for
// o.warmup plus o.duration, and counts what completes within the measured
// window.
func load(ctx context.Context, o options, url string, bodies []body) result {
	client := &http.Client{
		Transport: &http.Transport{MaxIdleConns: o.concurrency, MaxIdleConnsPerHost: o.concurrency, DisableCompression: true},
		Timeout:   60 * time.Second,
	}
	from := time.Now().Add(o.warmup)
	until := from.Add(o.duration)
	var (
		next atomic.Int64
		mu   sync.Mutex
		r    result
		wg   sync.WaitGroup
	)
	for range o.concurrency {
		wg.Go(func() {
			var (
				mine result
				buf  []byte
			)
			token := o.token
			if o.format == formatPagerDuty {
				token = "" // in the body
			}
			for ctx.Err() == nil {
				start := time.Now()
				if !start.Before(until) {
					break
				}
				i := int(next.Add(1) - 1)
				b := bodies[i%len(bodies)]
				data := b.data
				if o.newOccurrences {
					buf = b.occurrence(buf, o.firstCycle+i/len(bodies))
					data = buf
				}
				err := post(ctx, client, url, token, data)
				if err != nil {
					buf = nil // the transport may still hold it
				}
				end := time.Now()
				if start.Before(from) || end.After(until) {
					continue // outside the measured window
				}
				if err != nil {
					mine.errors++
					if len(mine.samples) < 3 {
						mine.samples = append(mine.samples, err.Error())
					}
					continue
				}
				mine.ok++
				mine.latencies = append(mine.latencies, end.Sub(start))
			}
			mu.Lock()
			r.ok += mine.ok
			r.errors += mine.errors
			r.latencies = append(r.latencies, mine.latencies...)
			r.samples = append(r.samples, mine.samples...)
			mu.Unlock()
		})
	}
	wg.Wait()
	slices.Sort(r.latencies)
	return r
}

// post sends one body and returns an error unless it was answered 2xx.
func post(ctx context.Context, client *http.Client, url, token string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s: %s", resp.Status, bytes.TrimSpace(answer))
	}
	return nil
}

func (r result) print(w io.Writer, o options) {
	secs := o.duration.Seconds()
	fmt.Fprintf(w, "alerts/s %.0f  bodies/s %.1f  p50 %s  p99 %s  errors %d (of %d bodies)\n",
		float64(r.ok*o.layout.perBody)/secs, float64(r.ok)/secs,
		percentile(r.latencies, 0.50), percentile(r.latencies, 0.99), r.errors, r.ok+r.errors)
	for _, s := range r.samples {
		fmt.Fprintln(w, "error:", s)
	}
}

// percentile returns the q-quantile of sorted durations, rounded.
func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := min(int(q*float64(len(sorted))), len(sorted)-1)
	return sorted[i].Round(100 * time.Microsecond)
}
