package ingest_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sync/errgroup"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/ingest"
)

// TestLateToClosedIncident: once an alert's incident closed, a report
// of an occurrence older than the one that resolved there (a sender's
// retry, the other Alertmanager of a pair) opens no incident, and pages
// nobody; a new occurrence does open one.
func TestLateToClosedIncident(t *testing.T) {
	for name, open := range stores {
		t.Run(name, func(t *testing.T) {
			st := open(t)
			ctx := t.Context()
			var opened []string
			p := ingest.NewPipeline(st, func() ingest.Router { return oneGroup{} }, func(groups ...string) { opened = append(opened, groups...) },
				func() time.Time { return t0.Add(4 * time.Hour) })
			at := func(status klaxon.Status, start time.Time) klaxon.Alert {
				a := firing("am/a", map[string]string{"alertname": "disk"})
				a.Status, a.StartsAt = status, start
				return a
			}
			require.NoError(t, p.Accept(ctx, []klaxon.Alert{at(klaxon.Firing, t0.Add(time.Hour))}))
			first := openIncident(t, st, "gdisk")
			require.NoError(t, p.Accept(ctx, []klaxon.Alert{at(klaxon.Resolved, t0.Add(time.Hour))}))
			inc, err := st.Incident(ctx, first.ID)
			require.NoError(t, err)
			require.Equal(t, klaxon.StateResolved, inc.State)

			require.NoError(t, p.Accept(ctx, []klaxon.Alert{at(klaxon.Firing, t0)}), "late, and accepted")
			g, err := st.Group(ctx, "gdisk", nil)
			require.NoError(t, err)
			require.Nil(t, g.Open, "the late report opened nothing")
			require.Equal(t, []string{"gdisk"}, opened, "paged once")

			require.NoError(t, p.Accept(ctx, []klaxon.Alert{at(klaxon.Firing, t0.Add(3*time.Hour))}))
			second := openIncident(t, st, "gdisk")
			require.NotEqual(t, first.ID, second.ID, "a new occurrence opens a new incident")
			require.Equal(t, []string{"gdisk", "gdisk"}, opened)
		})
	}
}

// TestLateToIncidentOpenedAndClosedInOneCommit: two deliveries folded
// into one commit, on a group whose incident closes in the commit before,
// open an incident and close it (am/a fires, then resolves). A report late
// to that occurrence (the other Alertmanager of a pair) opens nothing, as
// when the two come alone: the store takes an incident opened and closed
// in one commit for the group's last closed one.
func TestLateToIncidentOpenedAndClosedInOneCommit(t *testing.T) {
	for name, open := range stores {
		for _, folded := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/folded=%t", name, folded), func(t *testing.T) {
				st := newCounting(open(t))
				close(st.release)
				at := func(key string, status klaxon.Status, start time.Time) klaxon.Alert {
					a := firing(key, map[string]string{"alertname": "disk"})
					a.Status, a.StartsAt = status, start
					return a
				}
				now := func() time.Time { return t0.Add(4 * time.Hour) }
				ctx := t.Context()
				var mu sync.Mutex
				var opened []string
				wake := func(groups ...string) { mu.Lock(); opened = append(opened, groups...); mu.Unlock() }
				p := ingest.NewPipeline(st, func() ingest.Router { return oneGroup{} }, wake, now)
				require.NoError(t, p.Accept(ctx, []klaxon.Alert{at("am/c", klaxon.Firing, t0.Add(time.Hour))}))

				held := newCounting(st.Store)
				p = ingest.NewPipeline(held, func() ingest.Router { return oneGroup{} }, wake, now)
				var eg errgroup.Group
				eg.Go(func() error { return p.Accept(ctx, []klaxon.Alert{at("am/c", klaxon.Resolved, t0.Add(time.Hour))}) })
				<-held.first // the group's incident closes, held in its commit
				if folded {
					eg.Go(func() error { return p.Accept(ctx, []klaxon.Alert{at("am/a", klaxon.Firing, t0.Add(2*time.Hour))}) })
					require.Eventually(t, func() bool { return p.Waiting("gdisk") == 1 }, 10*time.Second, time.Millisecond)
					eg.Go(func() error { return p.Accept(ctx, []klaxon.Alert{at("am/a", klaxon.Resolved, t0.Add(2*time.Hour))}) })
					require.Eventually(t, func() bool { return p.Waiting("gdisk") == 2 }, 10*time.Second, time.Millisecond)
					close(held.release)
					require.NoError(t, eg.Wait())
					require.Equal(t, int64(2), held.commits.Load(), "am/a's firing and resolve in one commit")
				} else {
					close(held.release)
					require.NoError(t, eg.Wait())
					require.NoError(t, p.Accept(ctx, []klaxon.Alert{at("am/a", klaxon.Firing, t0.Add(2*time.Hour))}))
					require.NoError(t, p.Accept(ctx, []klaxon.Alert{at("am/a", klaxon.Resolved, t0.Add(2*time.Hour))}))
				}
				g, err := st.Group(ctx, "gdisk", nil)
				require.NoError(t, err)
				require.Nil(t, g.Open)
				mu.Lock()
				woken := len(opened)
				mu.Unlock()

				require.NoError(t, p.Accept(ctx, []klaxon.Alert{at("am/a", klaxon.Firing, t0.Add(time.Hour))}), "late, and accepted")
				g, err = st.Group(ctx, "gdisk", nil)
				require.NoError(t, err)
				require.Nil(t, g.Open, "the late report opened nothing")
				mu.Lock()
				defer mu.Unlock()
				require.Len(t, opened, woken, "nor woke the engine to page")
			})
		}
	}
}
