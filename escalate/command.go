package escalate

import (
	"fmt"
	"time"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/incident"
)

// Acknowledge acknowledges inc on behalf of by, who acted through how (api,
// sms, voice, email): escalation stops and pending pages are dropped. An
// incident already acknowledged stays as it is; a resolved one cannot be.
func Acknowledge(inc *klaxon.Incident, now time.Time, by, how string) (changed bool, err error) {
	switch inc.State {
	case klaxon.StateAcknowledged:
		return false, nil
	case klaxon.StateResolved:
		return false, fmt.Errorf("acknowledge incident %s: it is resolved: %w", inc.ID, klaxon.ErrConflict)
	}
	inc.State = klaxon.StateAcknowledged
	inc.AckedAt, inc.AckedBy = now, by
	inc.Pending = nil
	inc.Escalation.NextAt = time.Time{}
	inc.Record(klaxon.Event{At: now, Kind: klaxon.EventAcknowledged, By: by, How: how})
	return true, nil
}

// Resolve resolves inc by hand. Resolving a resolved incident changes
// nothing.
func Resolve(inc *klaxon.Incident, now time.Time, by, how string) (changed bool) {
	if inc.State == klaxon.StateResolved {
		return false
	}
	incident.Resolve(inc, now, by, how)
	return true
}
