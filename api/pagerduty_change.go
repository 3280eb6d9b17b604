package api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"time"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/ingest"
	"github.com/klaxonhq/klaxon/telemetry"
)

// changeAhead is how far ahead of Klaxon's clock a change's
// payload.timestamp may be, for a sender's clock that is ahead.
const changeAhead = 5 * time.Minute

// changeEnqueue serves PagerDuty's change events (POST
// /v2/change/enqueue) with PagerDuty's bodies and status codes, as
// enqueue serves its alerts: the routing key is the token of a pagerduty
// integration, an unknown one an invalid event (400), and a sender that
// keeps guessing is answered 429. The change is stored for the reviews
// of the incidents that open after it: it opens none and pages nobody.
// It is answered 202 once it is durable.
func (s *Server) changeEnqueue(w http.ResponseWriter, r *http.Request) {
	body, ok := s.pdBody(w, r)
	if !ok {
		return
	}
	span := s.decodeSpan(r)
	ev, err := ingest.DecodePagerDutyChange(body)
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
	now := s.o.Now()
	c := ev.Change
	c.Integration, c.ReceivedAt = name, now
	if c.At.IsZero() || c.At.After(now.Add(changeAhead)) {
		// A change from the future (a sender's clock gone wrong) would
		// be its integration's newest for good, and push out every
		// change after it: it is dated when it came.
		c.At = now
	}
	if rw, ok := s.o.Store.(klaxon.ReplicaWaiter); ok && rw.WaitsForReplicas() {
		err = s.putChangeReplicated(r, rw, c, body, now)
	} else {
		_, err = s.o.Store.PutChange(r.Context(), c, now, klaxon.DefaultChangeBounds)
	}
	if err != nil {
		s.pdFailed(w, r, "change enqueue", name, err)
		return
	}
	writeJSON(w, http.StatusAccepted, ingest.ChangeAccepted())
}

// forgetTimeout bounds the forgetting of a change's digest after it was
// answered, whatever the sender does.
const forgetTimeout = 5 * time.Second

// putChangeReplicated puts c, sent as body, and returns once rw's
// replicas hold it. Its digest is kept with it until it is answered 2xx:
// a sender told to send it again (the wait failed, or it hung up) sends
// this change, not another; once answered, the same body is another
// change (a second deploy of the same build).
func (s *Server) putChangeReplicated(r *http.Request, rw klaxon.ReplicaWaiter, c klaxon.Change, body []byte, now time.Time) error {
	sum := sha256.Sum256(body) // a sender's retry sends the same body
	c.Digest = hex.EncodeToString(sum[:16])
	wait := rw.ChangesBarrier(r.Context(), c.Integration)
	if _, err := s.o.Store.PutChange(r.Context(), c, now, klaxon.DefaultChangeBounds); err != nil {
		return err
	}
	if err := wait(r.Context()); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), forgetTimeout)
	defer cancel()
	if err := rw.ForgetChange(ctx, c.Integration, c.Digest); err != nil {
		s.log.WarnContext(r.Context(), "change enqueue", "integration", c.Integration, "err", err)
	}
	return nil
}
