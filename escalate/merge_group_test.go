package escalate_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/incident"
	"github.com/klaxonhq/klaxon/ingest"
	"github.com/klaxonhq/klaxon/internal/incidenttest"
)

// byAlertname groups every alert by its alertname.
type byAlertname struct{}

func (byAlertname) Group(a *klaxon.Alert) (string, error) { return "g" + a.Labels["alertname"], nil }
func (byAlertname) Labels(string) map[string]string       { return nil }
func (byAlertname) Route(a *klaxon.Alert) (incident.Template, error) {
	return incident.Template{Group: "g" + a.Labels["alertname"], Policy: incidenttest.Policy}, nil
}

// TestMergeWithinGroup: a group's incident A, with K firing, is resolved
// by hand; the group fires again with J, which opens B; A merges into B.
// K's copy in B fires, and, one group's, its later reports come to B: it
// counts among B's firing alerts, so that its resolve leaves B open while
// J fires. Before, the copy was not counted, and its resolve took B's
// count of firing alerts to nothing: B resolved by itself.
func TestMergeWithinGroup(t *testing.T) {
	r := incidenttest.NewRig(t, workT0)
	ctx := t.Context()
	p := ingest.NewPipeline(r.Store, func() ingest.Router { return byAlertname{} }, nil, r.Clock.Now)
	alert := func(key string, status klaxon.Status) klaxon.Alert {
		a := klaxon.Alert{Key: key, Integration: "am", Status: status, Summary: key + " down",
			Labels: map[string]string{"alertname": "DBDown", "instance": key}, StartsAt: workT0}
		if status == klaxon.Resolved {
			a.EndsAt = r.Clock.Now()
		}
		return a
	}
	open := func() string {
		t.Helper()
		g, err := r.Store.Group(ctx, "gDBDown", nil)
		require.NoError(t, err)
		require.NotNil(t, g.Open)
		return g.Open.ID
	}
	ops := klaxon.Actor{By: "ops", How: "cli"}

	require.NoError(t, p.Accept(ctx, []klaxon.Alert{alert("am/K", klaxon.Firing)}))
	a := open()
	_, err := r.Engine.Resolve(ctx, a, ops)
	require.NoError(t, err)
	r.Clock.Add(time.Minute)
	require.NoError(t, p.Accept(ctx, []klaxon.Alert{alert("am/J", klaxon.Firing)}))
	b := open()
	require.NotEqual(t, a, b)

	out, err := r.Engine.Merge(ctx, a, b, ops)
	require.NoError(t, err)
	require.Equal(t, 2, out.AlertCount)
	require.Equal(t, 2, out.FiringCount, "K's copy fires, and is B's")

	r.Clock.Add(time.Minute)
	require.NoError(t, p.Accept(ctx, []klaxon.Alert{alert("am/K", klaxon.Resolved)}))
	inc := r.Incident(t, b)
	require.Equal(t, klaxon.StateTriggered, inc.State, "J still fires")
	require.Equal(t, 1, inc.FiringCount)
}
