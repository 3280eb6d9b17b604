package incident_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/incident"
)

var (
	t0   = time.Date(2026, 11, 23, 23, 26, 7, 0, time.UTC)
	tmpl = incident.Template{
		Group:  `{}:{alertname="HighErrorRate",service="payments"}`,
		Labels: map[string]string{"alertname": "HighErrorRate", "service": "payments"},
		Policy: klaxon.Policy{Name: "payments", Steps: []klaxon.Step{{EscalateAfter: time.Minute}}},
	}
)

func alert(key string, status klaxon.Status, startsAt time.Time) klaxon.Alert {
	return klaxon.Alert{Key: "prometheus/" + key, Integration: "prometheus", Status: status, Summary: "5xx ratio above 5% on " + key, StartsAt: startsAt}
}

func firing(key string) klaxon.Alert   { return alert(key, klaxon.Firing, t0) }
func resolved(key string) klaxon.Alert { return alert(key, klaxon.Resolved, t0) }

// deliver applies each delivery in turn, one second apart, as the
// pipeline does with the stored incident, and returns every result.
func deliver(deliveries ...[]klaxon.Alert) []incident.Result {
	var open *klaxon.Incident
	var out []incident.Result
	for i, d := range deliveries {
		r := incident.Apply(open, d, t0.Add(time.Duration(i)*time.Second), tmpl)
		out = append(out, r)
		if r.Incident != nil {
			open = r.Incident
			if !open.State.Open() {
				open = nil
			}
		}
	}
	return out
}

func kinds(inc *klaxon.Incident) []klaxon.EventKind {
	var k []klaxon.EventKind
	for _, e := range inc.Timeline {
		k = append(k, e.Kind)
	}
	return k
}

func TestApply(t *testing.T) {
	t.Run("first firing alert opens an incident", func(t *testing.T) {
		r := deliver([]klaxon.Alert{firing("a")})[0]
		require.True(t, r.Opened)
		require.True(t, r.Changed)
		require.False(t, r.Resolved)
		require.Equal(t, []string{"prometheus/a"}, r.Index)
		inc := r.Incident
		require.Equal(t, klaxon.StateTriggered, inc.State)
		require.Equal(t, tmpl.Group, inc.Group)
		require.Equal(t, "payments", inc.Policy.Name)
		require.Equal(t, -1, inc.Escalation.Step)
		require.Equal(t, "5xx ratio above 5% on a", inc.Summary)
		require.Len(t, inc.Alerts, 1)
		require.Equal(t, 1, inc.Alerts[0].Count)
		require.Equal(t, t0, inc.Alerts[0].FirstSeen)
		require.Equal(t, []klaxon.EventKind{klaxon.EventTriggered}, kinds(inc))
	})

	t.Run("two alerts of one body join one incident", func(t *testing.T) {
		r := deliver([]klaxon.Alert{firing("a"), firing("b")})[0]
		require.True(t, r.Opened)
		require.Equal(t, []string{"prometheus/a", "prometheus/b"}, r.Index)
		require.Len(t, r.Incident.Alerts, 2)
		require.Equal(t, []klaxon.EventKind{klaxon.EventTriggered, klaxon.EventAlertJoined}, kinds(r.Incident))
	})

	t.Run("a new alert joins the open incident and does not open another", func(t *testing.T) {
		rs := deliver([]klaxon.Alert{firing("a")}, []klaxon.Alert{firing("b")})
		r := rs[1]
		require.False(t, r.Opened)
		require.True(t, r.Changed)
		require.Equal(t, []string{"prometheus/b"}, r.Index)
		require.Len(t, r.Incident.Alerts, 2)
		require.Equal(t, klaxon.EventAlertJoined, r.Incident.Timeline[1].Kind)
		require.Equal(t, "prometheus/b", r.Incident.Timeline[1].Alert)
	})

	t.Run("the same body delivered twice is a no-op", func(t *testing.T) {
		body := []klaxon.Alert{firing("a"), firing("b")}
		rs := deliver(body, body)
		r := rs[1]
		require.False(t, r.Opened)
		require.False(t, r.Changed, "nothing to commit")
		require.Empty(t, r.Index)
		require.Equal(t, rs[0].Incident, r.Incident)
	})

	t.Run("the same occurrence seen again later moves last seen only", func(t *testing.T) {
		open := incident.Apply(nil, []klaxon.Alert{firing("a")}, t0, tmpl).Incident
		later := t0.Add(incident.LastSeenEvery)
		r := incident.Apply(open, []klaxon.Alert{firing("a")}, later, tmpl)
		require.True(t, r.Changed)
		a := r.Incident.Alerts[0]
		require.Equal(t, 1, a.Count)
		require.Equal(t, t0, a.FirstSeen)
		require.Equal(t, later, a.LastSeen)
		require.Len(t, r.Incident.Timeline, 1, "no event")
	})

	t.Run("a changed summary is news at once", func(t *testing.T) {
		open := incident.Apply(nil, []klaxon.Alert{firing("a")}, t0, tmpl).Incident
		a := firing("a")
		a.Summary = "worse"
		r := incident.Apply(open, []klaxon.Alert{a}, t0.Add(time.Second), tmpl)
		require.True(t, r.Changed)
		require.Equal(t, "worse", r.Incident.Alerts[0].Summary)
		require.Equal(t, 1, r.Incident.Alerts[0].Count, "the same occurrence")
	})

	t.Run("a new occurrence of an open alert counts but does not join", func(t *testing.T) {
		again := alert("a", klaxon.Firing, t0.Add(time.Minute))
		rs := deliver([]klaxon.Alert{firing("a")}, []klaxon.Alert{again})
		require.Equal(t, 2, rs[1].Incident.Alerts[0].Count)
		require.Empty(t, rs[1].Index)
		require.Len(t, rs[1].Incident.Timeline, 1)
	})

	t.Run("resolving one alert of two keeps the incident open", func(t *testing.T) {
		rs := deliver([]klaxon.Alert{firing("a"), firing("b")}, []klaxon.Alert{resolved("a"), firing("b")})
		r := rs[1]
		require.False(t, r.Resolved)
		require.Equal(t, klaxon.StateTriggered, r.Incident.State)
		require.Equal(t, klaxon.Resolved, r.Incident.Alerts[0].Status)
		require.Equal(t, klaxon.Firing, r.Incident.Alerts[1].Status)
		require.Equal(t, 1, r.Incident.Firing())
		require.Equal(t, klaxon.EventAlertResolved, r.Incident.Timeline[len(r.Incident.Timeline)-1].Kind)
	})

	t.Run("resolving every alert resolves the incident", func(t *testing.T) {
		rs := deliver([]klaxon.Alert{firing("a"), firing("b")}, []klaxon.Alert{resolved("a")}, []klaxon.Alert{resolved("b")})
		r := rs[2]
		require.True(t, r.Resolved)
		require.Equal(t, klaxon.StateResolved, r.Incident.State)
		require.Equal(t, "auto", r.Incident.Timeline[len(r.Incident.Timeline)-1].How)
		require.Equal(t, t0.Add(2*time.Second), r.Incident.ResolvedAt)
		require.Equal(t, []string{"prometheus/a", "prometheus/b"}, r.Unindex)
	})

	t.Run("keep open: all alerts resolved, the incident waits for a person", func(t *testing.T) {
		keep := tmpl
		keep.KeepOpen = true
		open := incident.Apply(nil, []klaxon.Alert{firing("a")}, t0, keep).Incident
		r := incident.Apply(open, []klaxon.Alert{resolved("a")}, t0, keep)
		require.False(t, r.Resolved)
		require.Equal(t, klaxon.StateTriggered, r.Incident.State)
	})

	t.Run("a resolve retried is a no-op", func(t *testing.T) {
		rs := deliver([]klaxon.Alert{firing("a"), firing("b")}, []klaxon.Alert{resolved("a")}, []klaxon.Alert{resolved("a")})
		require.False(t, rs[2].Changed)
		require.Len(t, rs[2].Incident.Timeline, len(rs[1].Incident.Timeline))
	})

	t.Run("a resolved alert re-fires within the open incident", func(t *testing.T) {
		rs := deliver([]klaxon.Alert{firing("a"), firing("b")}, []klaxon.Alert{resolved("a")}, []klaxon.Alert{alert("a", klaxon.Firing, t0.Add(time.Hour))})
		r := rs[2]
		require.False(t, r.Opened)
		require.Equal(t, klaxon.Firing, r.Incident.Alerts[0].Status)
		require.Equal(t, 2, r.Incident.Alerts[0].Count)
		require.Equal(t, klaxon.EventAlertRefired, r.Incident.Timeline[len(r.Incident.Timeline)-1].Kind)
	})

	t.Run("a group that fires again after resolving opens a new incident", func(t *testing.T) {
		rs := deliver([]klaxon.Alert{firing("a")}, []klaxon.Alert{resolved("a")}, []klaxon.Alert{alert("a", klaxon.Firing, t0.Add(time.Hour))})
		require.True(t, rs[1].Resolved)
		require.True(t, rs[2].Opened)
		require.NotSame(t, rs[1].Incident, rs[2].Incident)
		require.Equal(t, klaxon.StateTriggered, rs[2].Incident.State)
		require.Equal(t, []string{"prometheus/a"}, rs[2].Index)
	})

	t.Run("a resolve for no open incident is ignored", func(t *testing.T) {
		r := deliver([]klaxon.Alert{resolved("a")})[0]
		require.False(t, r.Changed)
		require.Nil(t, r.Incident)
	})

	t.Run("an acknowledged incident still takes alerts and stays acknowledged", func(t *testing.T) {
		open := incident.Apply(nil, []klaxon.Alert{firing("a")}, t0, tmpl).Incident
		open.State = klaxon.StateAcknowledged
		r := incident.Apply(open, []klaxon.Alert{firing("b")}, t0, tmpl)
		require.Equal(t, klaxon.StateAcknowledged, r.Incident.State)
		require.Len(t, r.Incident.Alerts, 2)
	})

	t.Run("opened and resolved in one body: recorded, nothing to page or index", func(t *testing.T) {
		r := deliver([]klaxon.Alert{firing("a"), resolved("a")})[0]
		require.True(t, r.Opened)
		require.True(t, r.Resolved)
		require.Empty(t, r.Index)
		require.Empty(t, r.Unindex)
	})

	t.Run("apply never changes the incident it was given", func(t *testing.T) {
		open := incident.Apply(nil, []klaxon.Alert{firing("a")}, t0, tmpl).Incident
		before := incident.Clone(open)
		incident.Apply(open, []klaxon.Alert{resolved("a"), firing("b")}, t0.Add(time.Second), tmpl)
		require.Equal(t, before, open)
	})
}

func BenchmarkApplyDedup(b *testing.B) {
	body := make([]klaxon.Alert, 100)
	for i := range body {
		body[i] = firing(string(rune('a'+i%26)) + string(rune('a'+i/26)))
	}
	open := incident.Apply(nil, body, t0, tmpl).Incident
	b.ReportAllocs()
	for b.Loop() {
		incident.Apply(open, body, t0, tmpl)
	}
}

func TestUrgency(t *testing.T) {
	for _, c := range []struct {
		name     string
		route    klaxon.Urgency
		severity string
		want     klaxon.Urgency
	}{
		{"critical is high", "", "critical", klaxon.UrgencyHigh},
		{"page is high", "", "page", klaxon.UrgencyHigh},
		{"warning is low", "", "warning", klaxon.UrgencyLow},
		{"no severity is low", "", "", klaxon.UrgencyLow},
		{"the route decides over the severity", klaxon.UrgencyLow, "critical", klaxon.UrgencyLow},
	} {
		t.Run(c.name, func(t *testing.T) {
			tm := tmpl
			tm.Urgency = c.route
			a := firing("a")
			a.Severity = c.severity
			require.Equal(t, c.want, incident.Apply(nil, []klaxon.Alert{a}, t0, tm).Incident.Urgency)
		})
	}
}
