package ingest_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/incident"
	"github.com/klaxonhq/klaxon/ingest"
)

// prefixed routes an alert into the group of its alertname under a prefix
// that a test changes, as a reload that changes the routes does.
type prefixed struct{ prefix *atomic.Value }

func (r prefixed) Group(a *klaxon.Alert) (string, error) {
	return r.prefix.Load().(string) + a.Labels["alertname"], nil
}

func (prefixed) Labels(string) map[string]string { return nil }

func (r prefixed) Route(a *klaxon.Alert) (incident.Template, error) {
	g, _ := r.Group(a)
	return incident.Template{Group: g, Policy: klaxon.Policy{Name: "p"}}, nil
}

// TestRouteChangeMovesAlerts: a firing alert whose group changes opens or
// joins an incident of its new group, and is resolved in the incident it
// left, which resolves once none of its alerts fires: it is not left
// open, holding alerts whose resolves now go elsewhere.
func TestRouteChangeMovesAlerts(t *testing.T) {
	for name, open := range stores {
		t.Run(name, func(t *testing.T) {
			st := open(t)
			ctx := t.Context()
			prefix := &atomic.Value{}
			prefix.Store("old-")
			now := t0
			p := ingest.NewPipeline(st, func() ingest.Router { return prefixed{prefix} }, nil, func() time.Time { return now })
			labels := map[string]string{"alertname": "disk"}
			a, b := firing("am/a", labels), firing("am/b", labels)
			require.NoError(t, p.Accept(ctx, []klaxon.Alert{a, b}))
			left := openIncident(t, st, "old-disk")

			prefix.Store("new-")
			now = now.Add(2 * time.Minute) // Alertmanager's next notification: the same occurrences
			require.NoError(t, p.Accept(ctx, []klaxon.Alert{a}))
			joined := openIncident(t, st, "new-disk")
			require.NotEqual(t, left.ID, joined.ID)
			inc, err := st.Incident(ctx, left.ID)
			require.NoError(t, err)
			require.Equal(t, klaxon.StateTriggered, inc.State, "am/b still fires there")
			require.Equal(t, 1, inc.FiringCount)
			events, _, err := st.Timeline(ctx, left.ID, 0, 10)
			require.NoError(t, err)
			last := events[len(events)-1]
			require.Equal(t, klaxon.EventAlertResolved, last.Kind)
			require.Equal(t, "am/a", last.Alert)
			require.Equal(t, "moved to incident "+joined.ID+": disk full", last.Text)

			require.NoError(t, p.Accept(ctx, []klaxon.Alert{b}))
			inc, err = st.Incident(ctx, left.ID)
			require.NoError(t, err)
			require.Equal(t, klaxon.StateResolved, inc.State, "none of its alerts fires there any more")
			g, err := st.Group(ctx, "new-disk", []string{"am/a", "am/b"})
			require.NoError(t, err)
			require.Equal(t, joined.ID, g.Open.ID)
			require.Equal(t, 2, g.Open.FiringCount)

			// Their resolves go where they fire now.
			a.Status, b.Status = klaxon.Resolved, klaxon.Resolved
			require.NoError(t, p.Accept(ctx, []klaxon.Alert{a, b}))
			inc, err = st.Incident(ctx, joined.ID)
			require.NoError(t, err)
			require.Equal(t, klaxon.StateResolved, inc.State)
		})
	}
}

// openIncident returns the header of group's open incident.
func openIncident(t *testing.T, st klaxon.Store, group string) *klaxon.Incident {
	t.Helper()
	g, err := st.Group(context.Background(), group, nil)
	require.NoError(t, err)
	require.NotNil(t, g.Open, "group %s has an open incident", group)
	return g.Open
}
