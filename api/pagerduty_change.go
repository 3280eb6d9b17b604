package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/ingest"
	"github.com/klaxonhq/klaxon/telemetry"
)

// changeEnqueue serves PagerDuty's change events (POST
// /v2/change/enqueue) with PagerDuty's bodies and status codes, as
// enqueue serves its alerts: the routing key is the token of a pagerduty
// integration, an unknown one an invalid event (400), and a sender that
// keeps guessing is answered 429. The change is stored for the reviews
// of the incidents that open after it: it opens none and pages nobody.
// It is answered 202 once it is durable.
func (s *Server) changeEnqueue(w http.ResponseWriter, r *http.Request) {
	body, err := readJSON(w, r)
	if err != nil {
		if status(err) == http.StatusRequestEntityTooLarge {
			writeJSON(w, http.StatusRequestEntityTooLarge, ingest.InvalidEvent("request body is larger than 1 MiB"))
			return
		}
		writeJSON(w, http.StatusBadRequest, ingest.InvalidEventFrom(err))
		return
	}
	span := s.decodeSpan(r)
	ev, err := ingest.DecodePagerDutyChange(body)
	telemetry.End(span, err)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, ingest.InvalidEventFrom(err))
		return
	}
	name, ok := s.o.Tokens.Integration("pagerduty", ev.RoutingKey)
	if !ok {
		if wait := s.failures.Fail(r); wait > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int(wait/time.Second)+1))
			writeJSON(w, http.StatusTooManyRequests, ingest.Response{Status: "throttle event", Message: "Requests for this service are arriving too quickly.  Please retry later."})
			return
		}
		writeJSON(w, http.StatusBadRequest, ingest.InvalidEvent("Invalid routing key"))
		return
	}
	now := s.o.Now()
	c := ev.Change
	c.Integration, c.ReceivedAt = name, now
	if c.At.IsZero() {
		c.At = now
	}
	if _, err := s.o.Store.PutChange(r.Context(), c, now, klaxon.DefaultChangeBounds); err != nil {
		switch code := status(err); {
		case code == http.StatusServiceUnavailable:
			if ok, unlogged := s.unavailable.Let(); ok {
				s.log.ErrorContext(r.Context(), "change enqueue", "integration", name, "err", err, "unlogged", unlogged)
			}
		case code >= 500:
			s.log.ErrorContext(r.Context(), "change enqueue", "integration", name, "err", err)
		default:
			s.log.InfoContext(r.Context(), "change enqueue", "integration", name, "status", code, "err", err)
		}
		retryAfter(w, status(err))
		writeJSON(w, status(err), ingest.Response{Status: "error", Message: err.Error()})
		return
	}
	writeJSON(w, http.StatusAccepted, ingest.ChangeAccepted())
}
