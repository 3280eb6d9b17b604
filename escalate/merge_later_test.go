package escalate_test

import (
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/escalate"
	"github.com/klaxonhq/klaxon/ingest"
	"github.com/klaxonhq/klaxon/internal/fakeclock"
)

// TestMergedAlertsJoinNoLaterIncident: in a storm, DBDown's incident A
// (am/a, am/b) merges into the incident the responders work, T. A new
// alert of DBDown, am/c, then opens B, which pages, as a new alert
// does. Alertmanager sends the group again at group_interval, am/a and
// am/b as the occurrences T holds: as when the group has no open
// incident, that changes nothing (T holds them, as a merged alert lives
// on in its target). They must not join B: there they would keep B open
// once its own alert, am/c, resolved.
func TestMergedAlertsJoinNoLaterIncident(t *testing.T) {
	for name, open := range bothStores() {
		t.Run(name, func(t *testing.T) {
			st := open(t)
			ctx := t.Context()
			clock := fakeclock.New(workT0)
			e := escalate.New(st, &phone{}, func() escalate.Directory { return directory{} }, slog.New(slog.DiscardHandler), escalate.Options{Now: clock.Now})
			p := ingest.NewPipeline(st, func() ingest.Router { return byAlertname{} }, nil, clock.Now)
			alert := func(name, key string, status klaxon.Status) klaxon.Alert {
				a := klaxon.Alert{Key: key, Integration: "am", Status: status, Summary: key + " down",
					Labels: map[string]string{"alertname": name, "instance": key}, StartsAt: workT0}
				if status == klaxon.Resolved {
					a.EndsAt = clock.Now()
				}
				return a
			}
			openOf := func(group string) string {
				t.Helper()
				g, err := st.Group(ctx, group, nil)
				require.NoError(t, err)
				require.NotNil(t, g.Open, "group %s has an open incident", group)
				return g.Open.ID
			}
			ops := klaxon.Actor{By: "ops", How: "cli"}

			require.NoError(t, p.Accept(ctx, []klaxon.Alert{alert("DBDown", "am/a", klaxon.Firing), alert("DBDown", "am/b", klaxon.Firing)}))
			a := openOf("gDBDown")
			require.NoError(t, p.Accept(ctx, []klaxon.Alert{alert("Storm", "am/s", klaxon.Firing)}))
			target := openOf("gStorm")
			_, err := e.Merge(ctx, a, target, ops)
			require.NoError(t, err)

			clock.Add(2 * time.Minute)
			group := []klaxon.Alert{alert("DBDown", "am/a", klaxon.Firing), alert("DBDown", "am/b", klaxon.Firing), alert("DBDown", "am/c", klaxon.Firing)}
			require.NoError(t, p.Accept(ctx, group))
			b := openOf("gDBDown")
			require.NotEqual(t, a, b)
			require.Equal(t, 1, r(t, st, b).AlertCount, "am/c alone opened B")

			clock.Add(5 * time.Minute) // group_interval: the group sent again
			require.NoError(t, p.Accept(ctx, group))
			got := r(t, st, b)
			require.Equal(t, 1, got.AlertCount, "am/a and am/b, which T holds, joined B")

			clock.Add(5 * time.Minute)
			require.NoError(t, p.Accept(ctx, []klaxon.Alert{alert("DBDown", "am/a", klaxon.Firing), alert("DBDown", "am/b", klaxon.Firing), alert("DBDown", "am/c", klaxon.Resolved)}))
			require.Equal(t, klaxon.StateResolved, r(t, st, b).State, "B's own alert resolved")
		})
	}
}
