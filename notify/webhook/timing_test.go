package webhook

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/notify"
)

// inProcess serves requests with a handler, without a network, so that
// Send runs entirely inside a synctest bubble, on its fake clock.
type inProcess struct{ h http.Handler }

func (p inProcess) RoundTrip(req *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	p.h.ServeHTTP(rec, req)
	return rec.Result(), nil
}

// TestWaits checks the waits between attempts on synctest's clock, on
// which they take exactly as long as Send asks.
func TestWaits(t *testing.T) {
	retryAfter := func(v string) answer {
		return answer{status: 429, header: map[string]string{"Retry-After": v}}
	}
	tests := []struct {
		name     string
		answers  []answer
		attempts int
		waited   time.Duration
	}{
		{"backoff 100 ms, then 200 ms", []answer{{status: 503}}, 3, 300 * time.Millisecond},
		{"500 then 200", []answer{{status: 500}, {status: 200}}, 2, 100 * time.Millisecond},
		{"400 final", []answer{{status: 400}}, 1, 0},
		{"Retry-After seconds", []answer{retryAfter("1"), {status: 200}}, 2, time.Second},
		{"Retry-After replaces each wait", []answer{retryAfter("2"), retryAfter("1"), {status: 200}}, 3, 3 * time.Second},
		{"Retry-After past 5 s goes back to the engine at once", []answer{retryAfter("3600")}, 1, 0},
		{"Retry-After of 5 s is waited", []answer{retryAfter("5"), {status: 200}}, 2, 5 * time.Second},
		{"Retry-After date", []answer{retryAfter("Sat, 01 Jan 2000 00:00:03 GMT"), {status: 200}}, 2, 3 * time.Second},
		{"Retry-After bad", []answer{retryAfter("later"), {status: 200}}, 2, 100 * time.Millisecond},
		{"Retry-After on 503 waited", []answer{{status: 503, header: map[string]string{"Retry-After": "4"}}, {status: 200}}, 2, 4 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := &receiver{answers: tt.answers}
				w, err := New(Options{URL: "https://hooks.example.com/klaxon", HTTPClient: &http.Client{Transport: inProcess{http.HandlerFunc(r.serve)}}})
				require.NoError(t, err)

				start := time.Now()
				_ = w.Send(t.Context(), page)
				require.Equal(t, tt.waited, time.Since(start))
				require.Len(t, r.requests(), tt.attempts)
			})
		})
	}
}

// A context that ends in the middle of a wait ends it at once.
func TestWaitCanceled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := &receiver{answers: []answer{{status: 503}}}
		w, err := New(Options{URL: "https://hooks.example.com/klaxon", HTTPClient: &http.Client{Transport: inProcess{http.HandlerFunc(r.serve)}}})
		require.NoError(t, err)

		ctx, cancel := context.WithTimeout(t.Context(), 150*time.Millisecond)
		defer cancel()
		start := time.Now()
		err = w.Send(ctx, page)
		require.Equal(t, 150*time.Millisecond, time.Since(start), "in the second wait")
		require.ErrorIs(t, err, context.DeadlineExceeded)
		require.Len(t, r.requests(), 2)
		var e *Error
		require.ErrorAs(t, err, &e)
		require.Equal(t, 503, e.Status)
	})
}

// TestStatusUpdateRetryAfter: a status update the subscriber throttles
// with a Retry-After longer than notify.MaxInlineWait, which Send gives
// back at once, is sent again once the wait is over; a wait past the
// update's timeout (30 s) gives it up at once.
func TestStatusUpdateRetryAfter(t *testing.T) {
	tests := []struct {
		name       string
		retryAfter string
		throttled  int             // answers 429 before a 200
		want       []time.Duration // when each request came
	}{
		{"waited out", "10", 1, []time.Duration{0, 10 * time.Second}},
		{"twice", "12", 2, []time.Duration{0, 12 * time.Second, 24 * time.Second}},
		{"past the timeout", "40", 1, []time.Duration{0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := &receiver{}
				for range tt.throttled {
					r.answers = append(r.answers, answer{status: 429, header: map[string]string{"Retry-After": tt.retryAfter}})
				}
				r.answers = append(r.answers, answer{status: 200})
				start := time.Now()
				var mu sync.Mutex
				var at []time.Duration
				serve := func(w http.ResponseWriter, req *http.Request) {
					mu.Lock()
					at = append(at, time.Since(start))
					mu.Unlock()
					r.serve(w, req)
				}
				w, err := New(Options{URL: "https://hooks.example.com/klaxon", HTTPClient: &http.Client{Transport: inProcess{http.HandlerFunc(serve)}}})
				require.NoError(t, err)
				u := notify.NewUpdates(nil, func(string) (notify.Channel, error) { return w, nil }, nil, slog.New(slog.DiscardHandler))

				ctx, cancel := context.WithCancel(t.Context())
				done := make(chan error)
				go func() { done <- u.Run(ctx) }()
				u.Committed([]*klaxon.Incident{{ID: "7", Summary: "db down",
					Policy:   klaxon.Policy{Subscribers: []string{"https://status.example.com/hook"}},
					Recorded: []klaxon.Event{{Kind: klaxon.EventTriggered, Alert: "am/1"}}}})
				time.Sleep(time.Minute)
				synctest.Wait()
				cancel()
				require.NoError(t, <-done)

				mu.Lock()
				defer mu.Unlock()
				require.Equal(t, tt.want, at)
				last := r.requests()[len(at)-1]
				require.Contains(t, string(last.body), `"update":"opened"`)
			})
		})
	}
}
