// Package incidentv1 reads incidents as the first storage layout kept
// them: one JSON document holding the header, every alert and the whole
// timeline. Both stores use it to upgrade what an older Klaxon wrote.
package incidentv1

import (
	"encoding/json"
	"fmt"

	"github.com/klaxonhq/klaxon"
)

// document is an incident as layout 1 stored it.
type document struct {
	klaxon.Incident
	Alerts   []klaxon.AlertState `json:"alerts"`
	Timeline []klaxon.Event      `json:"timeline"`
}

// Is reports whether body is an incident of layout 1: only that layout
// has the timeline in the document.
func Is(body []byte) bool {
	var probe struct {
		Timeline json.RawMessage `json:"timeline"`
	}
	return json.Unmarshal(body, &probe) == nil && probe.Timeline != nil
}

// Decode splits an incident of layout 1 into its header, with its alerts
// in Changed and its timeline in Recorded, ready to be written as records
// of their own. Counts and the pages sent are derived from them as
// incident.Apply and Incident.Record keep them.
func Decode(body []byte) (*klaxon.Incident, error) {
	var d document
	if err := json.Unmarshal(body, &d); err != nil {
		return nil, fmt.Errorf("decode incident of layout 1: %w", err)
	}
	h := d.Incident
	h.Changed, h.Recorded, h.Sent = d.Alerts, nil, nil
	h.AlertCount, h.FiringCount = len(d.Alerts), 0
	for _, a := range d.Alerts {
		if a.Status == klaxon.Firing {
			h.FiringCount++
		}
	}
	for _, e := range d.Timeline {
		h.Record(e)
	}
	return &h, nil
}
