package incident_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/incident"
)

// TestRaiseAfterWindowNextReport: a critical alert joins a low incident
// while a window holds it (Template.Silenced). Its next report after
// the window, though the same occurrence within LastSeenEvery, raises
// the urgency.
func TestRaiseAfterWindowNextReport(t *testing.T) {
	tmpl := incident.Template{Group: "g", Policy: klaxon.Policy{Name: "p", Steps: []klaxon.Step{{Targets: []klaxon.Target{{Kind: klaxon.TargetUser, Name: "alice"}}}}}}
	warn := klaxon.Alert{Key: "a/1", Status: klaxon.Firing, Severity: "warning", StartsAt: t0}
	r := incident.Apply(nil, nil, []klaxon.Alert{warn}, t0, tmpl)
	inc := r.Incident
	inc.Escalation = klaxon.Escalation{Step: 0}
	known := map[string]klaxon.Seen{warn.Key: r.Incident.Changed[0].Seen()}

	crit := klaxon.Alert{Key: "a/2", Status: klaxon.Firing, Severity: "critical", StartsAt: t0.Add(time.Minute)}
	held := tmpl
	held.Silenced = map[string]bool{crit.Key: true}
	inWindow := t0.Add(time.Minute)
	r = incident.Apply(inc, known, []klaxon.Alert{crit}, inWindow, held)
	require.False(t, r.Raised)
	require.Equal(t, klaxon.UrgencyLow, r.Incident.Urgency)
	for _, a := range r.Incident.Changed {
		known[a.Key] = a.Seen()
	}

	// The window ended at inWindow+30s; the alert is reported again.
	after := inWindow.Add(40 * time.Second)
	r = incident.Apply(r.Incident, known, []klaxon.Alert{crit}, after, tmpl)
	require.True(t, r.Raised, "its next report after the window raises the urgency")
}
