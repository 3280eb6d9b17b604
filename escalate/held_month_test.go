package escalate_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/escalate"
	"github.com/klaxonhq/klaxon/incident"
	"github.com/klaxonhq/klaxon/ingest"
	"github.com/klaxonhq/klaxon/internal/fakeclock"
	"github.com/klaxonhq/klaxon/route"
)

// TestAlwaysOpenWindowHoldsAMonth: a window open all day every day holds
// an incident's first page for a month, then it goes (route.Silence's
// bound), though asked again when the hold ends (Options.Held, as
// internal/app wires it: ingest.HoldAll over route.Silence) the window
// would hold it on. Asked again, it held the page for ever.
func TestAlwaysOpenWindowHoldsAMonth(t *testing.T) {
	w, errs := route.NewWindow(route.WindowSpec{Name: "always", Matchers: []string{`alertname="x"`}, Every: "daily", From: "00:00", To: "00:00", TimeZone: "UTC"}, "maintenance[0]")
	require.Empty(t, errs)
	hold := func(lbls map[string]string, now time.Time) (string, time.Time, bool) {
		found, until, ok := route.Silence(lbls, now, []*route.Window{w})
		if !ok {
			return "", time.Time{}, false
		}
		return found.Name, until, true
	}
	alert := klaxon.Alert{Key: "am/1", Status: klaxon.Firing, Summary: "disk full", Labels: map[string]string{"alertname": "x"}}
	clk := fakeclock.New(t0)
	st, ph, e := newEngine(t, escalate.Options{Now: clk.Now, Held: func(_ context.Context, _ *klaxon.Incident, now time.Time) (string, time.Time, bool, error) {
		win, until, ok := ingest.HoldAll(hold, []klaxon.Alert{alert}, now)
		return win, until, ok, nil
	}})
	win, until, ok := ingest.HoldAll(hold, []klaxon.Alert{alert}, t0)
	require.True(t, ok)
	t.Logf("first hold until %s (%s)", until, until.Sub(t0))
	id, err := st.NextIncidentID(t.Context())
	require.NoError(t, err)
	r := incident.Apply(nil, nil, []klaxon.Alert{alert}, t0, incident.Template{Group: "g" + id, Policy: twoSteps})
	r.Incident.ID = id
	r.Incident.Escalation.NextAt, r.Incident.Escalation.HeldBy = until, win
	require.NoError(t, st.Commit(t.Context(), klaxon.Commit{Group: "g" + id, Open: id, Incidents: []*klaxon.Incident{r.Incident},
		Index: r.Index, Timers: []klaxon.Timer{{Incident: id, Group: "g" + id, Due: until}}}))
	for at := t0; !at.After(t0.Add(365 * 24 * time.Hour)); at = at.Add(24 * time.Hour) {
		clk.Set(at)
		_, err := e.RunOnce(t.Context())
		require.NoError(t, err)
		if at.Before(until) {
			require.Empty(t, ph.got(), "held at %s", at)
			continue
		}
		require.NotEmpty(t, ph.got(), "paged once the month's hold ended, at %s", at)
		return
	}
	t.Fatal("never past the hold")
}
