package api

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"time"
)

// /readyz is open to anyone and probes the store with a write, so it
// answers from the last probe for readyFor, and the hits that come while
// a probe runs wait for that one: a flood of hits makes about one write a
// second. It says only whether Klaxon is ready; why not is logged, once
// for each new reason.

// readyFor is how long a probe's result answers /readyz.
const readyFor = time.Second

// probeTimeout bounds one probe.
const probeTimeout = 5 * time.Second

// notReady is all /readyz tells a client that is refused.
const notReady = "not ready: the store cannot be reached or cannot write"

// readiness probes the store for /readyz.
type readiness struct {
	ping func(context.Context) error
	now  func() time.Time
	log  *slog.Logger

	mu     sync.Mutex
	probed bool
	at     time.Time // when the last probe ended
	err    error     // what it found
	// running is closed when the probe in flight ends; nil when none
	// runs.
	running chan struct{}
	// logged is the failure logged last; "" once a probe succeeded.
	logged string
}

// check returns the store's readiness: the last probe's result if it
// ended less than readyFor ago, else that of a new probe, or of the one
// in flight. It returns ctx's error if ctx ends first.
func (r *readiness) check(ctx context.Context) error {
	r.mu.Lock()
	if r.probed && r.now().Sub(r.at) < readyFor {
		defer r.mu.Unlock()
		return r.err
	}
	if done := r.running; done != nil {
		r.mu.Unlock()
		select {
		case <-done:
		case <-ctx.Done():
			return ctx.Err()
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		return r.err
	}
	done := make(chan struct{})
	r.running = done
	r.mu.Unlock()

	// The probe answers every hit waiting for it: it runs to its end
	// even if the client that started it goes away.
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), probeTimeout)
	err := r.ping(pctx)
	cancel()

	r.mu.Lock()
	defer r.mu.Unlock()
	r.probed, r.at, r.err, r.running = true, r.now(), err, nil
	close(done)
	switch {
	case err != nil && err.Error() != r.logged:
		r.logged = err.Error()
		r.log.Error("not ready", "err", err)
	case err == nil && r.logged != "":
		r.logged = ""
		r.log.Info("ready again")
	}
	return err
}

func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	if err := s.readiness.check(r.Context()); err != nil {
		if r.Context().Err() != nil {
			return // the client went away
		}
		retryAfter(w, http.StatusServiceUnavailable)
		writeJSON(w, http.StatusServiceUnavailable, errorBody{Error: notReady})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}
