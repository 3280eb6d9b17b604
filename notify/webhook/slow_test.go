package webhook

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"
)

// cancelable serves requests with a handler in process, as inProcess
// does, but gives up when the request's context ends, as a network
// transport does: a client timeout then cuts the request off. It reports
// the request written as the handler gets it, as a network transport
// does once it wrote it.
type cancelable struct{ h http.Handler }

func (c cancelable) RoundTrip(req *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	done := make(chan struct{})
	if trace := httptrace.ContextClientTrace(req.Context()); trace != nil && trace.WroteRequest != nil {
		trace.WroteRequest(httptrace.WroteRequestInfo{})
	}
	go func() {
		defer close(done)
		c.h.ServeHTTP(rec, req)
	}()
	select {
	case <-done:
		return rec.Result(), nil
	case <-req.Context().Done():
		<-done
		return nil, req.Context().Err()
	}
}

// TestSlowReceiverWithinPageTimeout: a receiver that takes 15 s to
// answer each page, well within the page's timeout (--page-timeout, 1
// minute by default: "how long one try of a page may take"), takes the
// page once. A client timeout of its own (it was 10 s, whatever the
// page's timeout) cut it off, and the no-answer was retried at once: the
// receiver got the page three times a try, the try failed, and the
// engine tried again in 10 s, 20 s, ... until the step escalated: every
// page again and again, none on record as sent.
func TestSlowReceiverWithinPageTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := &receiver{}
		slow := http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			time.Sleep(15 * time.Second) // the receiver took the page, and works on it
			r.serve(w, req)
		})
		w, err := New(Options{URL: "https://hooks.example.com/klaxon"}) // as serve makes it
		require.NoError(t, err)
		w.http.Transport = cancelable{slow}

		ctx, cancel := context.WithTimeout(t.Context(), time.Minute) // the page's timeout
		defer cancel()
		err = w.Send(ctx, page)
		require.Equal(t, 1, len(r.requests()), "the receiver took the page this many times in one try")
		require.NoError(t, err, "answered in 15 s, within the page's timeout")
	})
}

// TestNoAnswerWithoutDeadline: a request whose context has no deadline is
// given up after defaultTimeout, and the error is one the engine tries
// again: the receiver did not answer. Written, it is not posted again
// within the try.
func TestNoAnswerWithoutDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		var cut []time.Duration // how long each request waited for its answer
		hung := http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			start := time.Now()
			<-req.Context().Done()
			mu.Lock()
			cut = append(cut, time.Since(start))
			mu.Unlock()
		})
		w, err := New(Options{URL: "https://hooks.example.com/klaxon"})
		require.NoError(t, err)
		w.http.Transport = cancelable{hung}

		err = w.Send(context.Background(), page)
		var e *Error
		require.ErrorAs(t, err, &e)
		require.Zero(t, e.Status)
		require.True(t, e.Retryable(), "no answer, within no deadline of the caller's")
		require.ErrorIs(t, err, context.DeadlineExceeded)
		mu.Lock()
		defer mu.Unlock()
		require.Equal(t, []time.Duration{defaultTimeout}, cut)
	})
}
