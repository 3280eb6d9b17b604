package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/ingest"
	"github.com/klaxonhq/klaxon/telemetry"
)

// enqueue serves PagerDuty's Events API v2 (POST /v2/enqueue) with
// PagerDuty's bodies and status codes, so that a tool that pages PagerDuty
// pages Klaxon by changing the host. The routing key is the token of a
// pagerduty integration; an unknown one is an invalid event (400), which
// senders do not retry.
func (s *Server) enqueue(w http.ResponseWriter, r *http.Request) {
	body, ok := s.pdBody(w, r)
	if !ok {
		return
	}
	span := s.decodeSpan(r)
	ev, err := ingest.DecodePagerDuty("", body)
	telemetry.End(span, err)
	if err != nil {
		s.pdAttribute(w, body)
		writeJSON(w, http.StatusBadRequest, ingest.InvalidEventFrom(err))
		return
	}
	name, ok := s.pdIntegration(w, r, ev.RoutingKey)
	if !ok {
		return
	}
	ev.Alert.Integration = name
	ev.Alert.Key = klaxon.AlertKey(name, ev.DedupKey)
	if ev.Action == ingest.ActionAcknowledge {
		err = s.acknowledgeAlert(r, ev.Alert.Key, name)
	} else {
		err = s.o.Accepter.Accept(r.Context(), []klaxon.Alert{ev.Alert})
	}
	if err != nil {
		s.pdFailed(w, r, "enqueue", name, err)
		return
	}
	s.metrics.alerts.WithLabelValues(name, string(ev.Alert.Status)).Inc() // firing or resolved, as for every source
	writeJSON(w, http.StatusAccepted, ingest.Accepted(ev.DedupKey))
}

// pdBody reads the body of a request to PagerDuty's Events API, and
// answers it as PagerDuty does when it cannot (ok false).
func (s *Server) pdBody(w http.ResponseWriter, r *http.Request) (body []byte, ok bool) {
	body, err := readJSON(w, r)
	if err != nil {
		if status(err) == http.StatusRequestEntityTooLarge {
			writeJSON(w, http.StatusRequestEntityTooLarge, ingest.InvalidEvent("request body is larger than 1 MiB"))
			return nil, false
		}
		writeJSON(w, http.StatusBadRequest, ingest.InvalidEventFrom(err))
		return nil, false
	}
	return body, true
}

// pdAttribute names, for the count of refusals, the pagerduty
// integration whose routing key body carries, when its key is one and
// the rest of it is refused: the sender is known, as a webhook's is by
// its bearer token. Only a refused body is read again; an unknown key is
// no failed authentication (pdIntegration's), as before.
func (s *Server) pdAttribute(w http.ResponseWriter, body []byte) {
	var in struct {
		RoutingKey string `json:"routing_key"`
	}
	if json.Unmarshal(body, &in) != nil || in.RoutingKey == "" {
		return
	}
	if name, ok := s.o.Tokens.Integration("pagerduty", in.RoutingKey); ok {
		attribute(w, name)
	}
}

// pdIntegration is the pagerduty integration whose token is routingKey.
// An unknown key is answered as PagerDuty does (ok false): an invalid
// event (400), which senders do not retry, and 429 to a sender that keeps
// guessing, as PagerDuty answers one over its rate.
func (s *Server) pdIntegration(w http.ResponseWriter, r *http.Request, routingKey string) (name string, ok bool) {
	if name, ok := s.o.Tokens.Integration("pagerduty", routingKey); ok {
		attribute(w, name)
		return name, true
	}
	if wait := s.failures.Fail(r); wait > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(wait/time.Second)+1))
		writeJSON(w, http.StatusTooManyRequests, ingest.Response{Status: "throttle event", Message: "Requests for this service are arriving too quickly.  Please retry later."})
		return "", false
	}
	writeJSON(w, http.StatusBadRequest, ingest.InvalidEvent("Invalid routing key"))
	return "", false
}

// pdFailed answers an event of integration that what (the handler) could
// not take, err, logged by its status: a store that cannot write (503,
// logged at most once a second), a fault, or the sender's.
func (s *Server) pdFailed(w http.ResponseWriter, r *http.Request, what, integration string, err error) {
	switch code := status(err); {
	case code == http.StatusServiceUnavailable:
		if ok, unlogged := s.unavailable.Let(); ok {
			s.log.ErrorContext(r.Context(), what, "integration", integration, "err", err, "unlogged", unlogged)
		}
	case code >= 500:
		s.log.ErrorContext(r.Context(), what, "integration", integration, "err", err)
	default:
		s.log.InfoContext(r.Context(), what, "integration", integration, "status", code, "err", err)
	}
	retryAfter(w, status(err))
	writeJSON(w, status(err), ingest.Response{Status: "error", Message: err.Error()})
}

// acknowledgeAlert acknowledges the open incident that alert key belongs
// to. An alert in no open incident is nothing to acknowledge: PagerDuty
// accepts such an event too. The index may still name the group of an
// alert whose incident closed (its unindexing owed: see ingest's Sweep),
// so the group's open incident must hold the alert.
func (s *Server) acknowledgeAlert(r *http.Request, key, integration string) error {
	groups, err := s.o.Store.AlertGroups(r.Context(), []string{key})
	if err != nil {
		return err
	}
	gk, ok := groups[key]
	if !ok {
		return nil
	}
	g, err := s.o.Store.Group(r.Context(), gk, []string{key})
	if err != nil || g.Open == nil {
		return err
	}
	if _, held := g.Alerts[key]; !held {
		return nil
	}
	// An event its sender sends once: answered once replicas hold it.
	wait := klaxon.Barrier(r.Context(), s.o.Store, []string{gk})
	_, err = s.o.Commands.Act(r.Context(), klaxon.ActionAck, g.Open.ID, klaxon.Actor{By: integration, How: klaxon.HowEvents})
	if errors.Is(err, klaxon.ErrConflict) {
		return nil // resolved meanwhile
	}
	if err != nil {
		return err
	}
	return wait(r.Context())
}
