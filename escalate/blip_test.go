package escalate_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/escalate"
	"github.com/klaxonhq/klaxon/incident"
	"github.com/klaxonhq/klaxon/internal/fakeclock"
)

// blipStore fails one commit (a transient store error) when armed.
type blipStore struct {
	klaxon.Store
	fail atomic.Bool
}

func (s *blipStore) Commit(ctx context.Context, c klaxon.Commit) error {
	if s.fail.CompareAndSwap(true, false) {
		return fmt.Errorf("blip: %w", klaxon.ErrUnavailable)
	}
	return s.Store.Commit(ctx, c)
}

// TestStepAfterOneFailedCommitWithPageInFlight: an incident's email hangs
// (a slow provider, within the page timeout) when its next step falls due;
// the step's commit fails once (a store blip). The fire tries again after
// a second (recordRetry's first wait), as with no page in flight: it
// waited half a margin (lease/6) or for the hung email, and the step's
// SMS went 2.5 s late with the default lease.
func TestStepAfterOneFailedCommitWithPageInFlight(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		db := openStore(t)
		bs := &blipStore{Store: db}
		dir := directory{
			"mail": {ID: "mail", Notify: []klaxon.NotifyRule{{Via: klaxon.ViaEmail}}},
			"sms":  {ID: "sms", Notify: []klaxon.NotifyRule{{Via: klaxon.ViaSMS}}},
		}
		g := &gates{open: map[string]chan struct{}{"mail": make(chan struct{})}}
		e, _ := startEngine(t, bs, g, dir, escalate.Options{})
		t.Cleanup(func() { close(g.open["mail"]) })
		p := klaxon.Policy{Name: "p", Steps: []klaxon.Step{
			{Targets: []klaxon.Target{{Kind: klaxon.TargetUser, Name: "mail"}}, EscalateAfter: 10 * time.Second},
			{Targets: []klaxon.Target{{Kind: klaxon.TargetUser, Name: "sms"}}, EscalateAfter: time.Hour},
		}}
		openIncident(t, db, p, time.Now())
		e.Wake()
		time.Sleep(9 * time.Second) // the email hangs
		synctest.Wait()
		require.Empty(t, g.got())
		bs.fail.Store(true) // the step's commit, at 10 s, fails once
		time.Sleep(2500*time.Millisecond - time.Millisecond)
		synctest.Wait()
		require.False(t, bs.fail.Load(), "the step's commit was tried, and failed")
		require.Equal(t, []string{"sms/sms"}, g.got(), "1.5 s after the step fell due, its SMS went out (one blip; the store answers)")
	})
}

// TestHeldAskedOnceSeesWhichAlertsFire: a held incident's hold ends; the
// windows are asked again and answer from its firing alerts (am/1, which
// window "v" holds for a day). Just after the question, ingest commits to
// the group: am/1 resolves and am/2, which no window holds, fires again.
// The fire's commit loses that race and is built again on the group as
// it is now, and asks the windows again: a memo of the first answer, kept
// while the incident's counts (one alert firing of two) and hold did not
// change, held the page on for a day while an alert no window holds
// fired.
func TestHeldAskedOnceSeesWhichAlertsFire(t *testing.T) {
	clk := fakeclock.New(t0)
	var st klaxon.Store
	tmpl := func(id string) incident.Template { return incident.Template{Group: "g" + id, Policy: twoSteps} }
	ingestAt := func(id string, at time.Time, alerts ...klaxon.Alert) {
		keys := make([]string, len(alerts))
		for i, a := range alerts {
			keys[i] = a.Key
		}
		require.NoError(t, klaxon.Update(context.Background(), st, "g"+id, keys, func(g klaxon.Group) (*klaxon.Commit, error) {
			r := incident.Apply(g.Open, g.Alerts, alerts, at, tmpl(id))
			return &klaxon.Commit{Open: id, Incidents: []*klaxon.Incident{r.Incident}, Index: r.Index}, nil
		}))
	}
	a1 := klaxon.Alert{Key: "am/1", Status: klaxon.Firing, Summary: "disk full"}
	a2 := klaxon.Alert{Key: "am/2", Status: klaxon.Firing, Summary: "disk full"}
	resolved := func(a klaxon.Alert) klaxon.Alert { a.Status = klaxon.Resolved; return a }
	var id string
	asked, raced := 0, false
	st, ph, e := newEngine(t, escalate.Options{Now: clk.Now, Held: func(ctx context.Context, inc *klaxon.Incident, now time.Time) (string, time.Time, bool, error) {
		asked++
		alerts, _, err := st.IncidentAlerts(ctx, inc.ID, "", 1000)
		if err != nil {
			return "", time.Time{}, false, err
		}
		win, until, ok := "v", now.Add(24*time.Hour), true
		for _, a := range alerts {
			if a.Status == klaxon.Firing && a.Key != "am/1" {
				win, until, ok = "", time.Time{}, false // v holds am/1 alone
			}
		}
		if !raced {
			raced = true
			ingestAt(inc.ID, now, resolved(a1), a2) // ingest, just after the question
		}
		return win, until, ok, nil
	}})
	var err error
	id, err = st.NextIncidentID(t.Context())
	require.NoError(t, err)
	r := incident.Apply(nil, nil, []klaxon.Alert{a1, a2}, t0, tmpl(id))
	r.Incident.ID = id
	r.Incident.Escalation.NextAt, r.Incident.Escalation.HeldBy = t0.Add(time.Hour), "w"
	require.NoError(t, st.Commit(t.Context(), klaxon.Commit{Group: "g" + id, Open: id, Incidents: []*klaxon.Incident{r.Incident},
		Index: r.Index, Timers: []klaxon.Timer{{Incident: id, Group: "g" + id, Due: t0.Add(time.Hour)}}}))
	ingestAt(id, t0.Add(time.Minute), resolved(a2)) // am/1 fires, am/2 resolved: one firing of two

	clk.Set(t0.Add(time.Hour))
	_, err = e.RunOnce(t.Context())
	require.NoError(t, err)
	require.True(t, raced)
	inc, err := st.Incident(t.Context(), id)
	require.NoError(t, err)
	t.Logf("asked %d times; firing %d of %d; held by %q until %s", asked, inc.FiringCount, inc.AlertCount, inc.Escalation.HeldBy, inc.Escalation.NextAt)
	require.NotEmpty(t, ph.got(), "am/2 fires and no window holds it: the held page goes at the hold's end")
}
