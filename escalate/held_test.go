package escalate_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/escalate"
	"github.com/klaxonhq/klaxon/incident"
	"github.com/klaxonhq/klaxon/internal/fakeclock"
)

// TestHeldAskedAgain: as the hold of an incident's first page ends, the
// engine asks the windows again (Options.Held): one that holds every
// firing alert still holds the page on, to when it frees one; when none
// does, or the question fails, the page goes.
func TestHeldAskedAgain(t *testing.T) {
	for _, tc := range []struct {
		name   string
		answer func(now time.Time) (string, time.Time, bool, error)
		pageAt time.Duration
	}{
		{"held on", func(time.Time) (string, time.Time, bool, error) { return "#2", t0.Add(2 * time.Hour), true, nil }, 2 * time.Hour},
		{"held no more", func(time.Time) (string, time.Time, bool, error) { return "", time.Time{}, false, nil }, time.Hour},
		{"the question fails", func(time.Time) (string, time.Time, bool, error) {
			return "", time.Time{}, false, errors.New("read alerts: connection refused")
		}, time.Hour},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk := fakeclock.New(t0)
			asked := 0
			st, ph, e := newEngine(t, escalate.Options{Now: clk.Now, Held: func(_ context.Context, _ *klaxon.Incident, now time.Time) (string, time.Time, bool, error) {
				asked++
				if !now.Before(t0.Add(2 * time.Hour)) {
					return "", time.Time{}, false, nil // #2 closed too
				}
				return tc.answer(now)
			}})
			id, err := st.NextIncidentID(t.Context())
			require.NoError(t, err)
			r := incident.Apply(nil, nil, []klaxon.Alert{{Key: "am/1", Status: klaxon.Firing, Summary: "disk full"}}, t0, incident.Template{Group: "g" + id, Policy: twoSteps})
			r.Incident.ID = id
			r.Incident.Escalation.NextAt, r.Incident.Escalation.HeldBy = t0.Add(time.Hour), "#1"
			require.NoError(t, st.Commit(t.Context(), klaxon.Commit{Group: "g" + id, Open: id, Incidents: []*klaxon.Incident{r.Incident},
				Index: r.Index, Timers: []klaxon.Timer{{Incident: id, Group: "g" + id, Due: t0.Add(time.Hour)}}}))

			for _, at := range []time.Duration{0, time.Hour - time.Second, time.Hour, 2*time.Hour - time.Second, 2 * time.Hour} {
				clk.Set(t0.Add(at))
				_, err := e.RunOnce(t.Context())
				require.NoError(t, err)
				if at < tc.pageAt {
					require.Empty(t, ph.got(), "at %s", at)
				} else {
					require.NotEmpty(t, ph.got(), "at %s", at)
				}
			}
			require.Positive(t, asked)
		})
	}
}
