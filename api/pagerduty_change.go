package api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
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
	sum := sha256.Sum256(body) // a sender's retry sends the same body
	c.Digest = hex.EncodeToString(sum[:16])
	if c.At.IsZero() || c.At.After(now.Add(changeAhead)) {
		// A change from the future (a sender's clock gone wrong) would
		// be its integration's newest for good, and push out every
		// change after it: it is dated when it came.
		c.At = now
	}
	wait := func(context.Context) error { return nil }
	if rs, ok := s.o.Store.(replicatedStore); ok {
		wait = rs.ChangesBarrier(r.Context(), name)
	}
	stored, err := s.o.Store.PutChange(r.Context(), c, now, klaxon.DefaultChangeBounds)
	if err == nil {
		if err = wait(r.Context()); err != nil {
			// Stored, and the sender is told to send it again: its
			// retry is this change, not another.
			if rs, ok := s.o.Store.(replicatedStore); ok {
				err = errors.Join(err, rs.RememberChange(r.Context(), name, c.Digest, stored.ID))
			}
		}
	}
	if err != nil {
		s.pdFailed(w, r, "change enqueue", name, err)
		return
	}
	writeJSON(w, http.StatusAccepted, ingest.ChangeAccepted())
}
