package incident_test

import (
	"maps"
	"slices"
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

// book is a group as a store keeps it: the open incident's header, and
// the alerts (in the order they joined) and timeline of its latest
// incident.
type book struct {
	open     *klaxon.Incident
	alerts   []klaxon.AlertState
	timeline []klaxon.Event
}

// step is the outcome of one delivery: Apply's result, and the incident's
// alerts and timeline as the store holds them after its commit.
type step struct {
	incident.Result
	Alerts   []klaxon.AlertState
	Timeline []klaxon.Event
}

// apply folds alerts into the book as the pipeline and a store do: it
// hands Apply the records of the alerts named, then writes what changed.
func (b *book) apply(alerts []klaxon.Alert, now time.Time, tm incident.Template) step {
	known := map[string]klaxon.Seen{}
	for _, a := range b.alerts {
		if slices.ContainsFunc(alerts, func(x klaxon.Alert) bool { return x.Key == a.Key }) {
			known[a.Key] = a.Seen()
		}
	}
	r := incident.Apply(b.open, known, alerts, now, tm)
	if r.Opened {
		b.alerts, b.timeline = nil, nil
	}
	if r.Changed {
		for _, a := range r.Incident.Changed {
			if i := slices.IndexFunc(b.alerts, func(x klaxon.AlertState) bool { return x.Key == a.Key }); i >= 0 {
				b.alerts[i] = a
			} else {
				b.alerts = append(b.alerts, a)
			}
		}
		b.timeline = append(b.timeline, r.Incident.Recorded...)
		h := incident.Clone(r.Incident)
		h.Changed, h.Recorded = nil, nil
		b.open = h
		if !h.State.Open() {
			b.open = nil
		}
	}
	return step{Result: r, Alerts: slices.Clone(b.alerts), Timeline: slices.Clone(b.timeline)}
}

// deliver applies each delivery in turn, one second apart, and returns
// every step.
func deliver(deliveries ...[]klaxon.Alert) []step {
	var b book
	var out []step
	for i, d := range deliveries {
		out = append(out, b.apply(d, t0.Add(time.Duration(i)*time.Second), tmpl))
	}
	return out
}

func kinds(s step) []klaxon.EventKind {
	var k []klaxon.EventKind
	for _, e := range s.Timeline {
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
		require.Equal(t, 1, inc.AlertCount)
		require.Equal(t, 1, inc.FiringCount)
		require.Len(t, r.Alerts, 1)
		require.Equal(t, 1, r.Alerts[0].Count)
		require.Equal(t, t0, r.Alerts[0].FirstSeen)
		require.Equal(t, []klaxon.EventKind{klaxon.EventTriggered}, kinds(r))
	})

	t.Run("a resolve that says only that keeps what was known", func(t *testing.T) {
		a := firing("a")
		a.Severity = "critical"
		bare := klaxon.Alert{Key: a.Key, Integration: a.Integration, Status: klaxon.Resolved, Partial: true}
		r := deliver([]klaxon.Alert{a}, []klaxon.Alert{bare})[1]
		require.True(t, r.Resolved)
		got := r.Alerts[0]
		require.Equal(t, klaxon.Resolved, got.Status)
		require.Equal(t, a.Summary, got.Summary)
		require.Equal(t, a.Severity, got.Severity)
		require.Equal(t, a.StartsAt, got.StartsAt)
		require.Equal(t, a.Summary, r.Timeline[len(r.Timeline)-2].Text, "the timeline names it too")
	})

	t.Run("a resolve keeps the severity the alert fired with", func(t *testing.T) {
		a := firing("a")
		a.Severity = "critical"
		recovery := resolved("a") // a Datadog recovery: its own time, alert_type success
		recovery.StartsAt, recovery.Severity = t0.Add(time.Hour), "info"
		got := deliver([]klaxon.Alert{a}, []klaxon.Alert{recovery})[1].Alerts[0]
		require.Equal(t, klaxon.Resolved, got.Status)
		require.Equal(t, "critical", got.Severity)
	})

	t.Run("a bare resolve after a full report in one body keeps that report's details", func(t *testing.T) {
		a := firing("x")
		a.Labels, a.URL, a.Source = map[string]string{"team": "a"}, "http://x", "host-1"
		bare := klaxon.Alert{Key: a.Key, Integration: a.Integration, Status: klaxon.Resolved, Partial: true}
		r := deliver([]klaxon.Alert{firing("a"), a, bare})[0]
		var got *klaxon.AlertState
		for i := range r.Incident.Changed {
			if r.Incident.Changed[i].Key == a.Key {
				got = &r.Incident.Changed[i]
			}
		}
		require.NotNil(t, got)
		require.Equal(t, klaxon.Resolved, got.Status)
		require.Equal(t, a.Labels, got.Labels)
		require.Equal(t, a.URL, got.URL)
		require.Equal(t, a.Source, got.Source)
		require.False(t, got.Partial, "whole again: nothing is left for the store to fill in")
	})

	t.Run("the store's word for what it holds of an alert goes from the read to the change", func(t *testing.T) {
		var b book
		b.apply([]klaxon.Alert{firing("a")}, t0, tmpl)
		b.alerts[0].Stored = 42 // as the store answered the read
		again := firing("a")
		again.StartsAt = again.StartsAt.Add(time.Hour) // a new occurrence
		r := b.apply([]klaxon.Alert{again}, t0.Add(time.Second), tmpl)
		require.True(t, r.Changed)
		require.Equal(t, uint64(42), r.Incident.Changed[0].Stored)
		fresh := firing("b")
		r = b.apply([]klaxon.Alert{fresh}, t0.Add(2*time.Second), tmpl)
		require.Zero(t, r.Incident.Changed[0].Stored, "an alert new to the incident: the store holds nothing")
	})

	t.Run("two alerts of one body join one incident", func(t *testing.T) {
		r := deliver([]klaxon.Alert{firing("a"), firing("b")})[0]
		require.True(t, r.Opened)
		require.Equal(t, []string{"prometheus/a", "prometheus/b"}, r.Index)
		require.Len(t, r.Alerts, 2)
		require.Equal(t, []klaxon.EventKind{klaxon.EventTriggered, klaxon.EventAlertJoined}, kinds(r))
	})

	t.Run("a new alert joins the open incident and does not open another", func(t *testing.T) {
		rs := deliver([]klaxon.Alert{firing("a")}, []klaxon.Alert{firing("b")})
		r := rs[1]
		require.False(t, r.Opened)
		require.True(t, r.Changed)
		require.Equal(t, []string{"prometheus/b"}, r.Index)
		require.Len(t, r.Alerts, 2)
		require.Equal(t, klaxon.EventAlertJoined, r.Timeline[1].Kind)
		require.Equal(t, "prometheus/b", r.Timeline[1].Alert)
	})

	t.Run("the same body delivered twice is a no-op", func(t *testing.T) {
		body := []klaxon.Alert{firing("a"), firing("b")}
		rs := deliver(body, body)
		r := rs[1]
		require.False(t, r.Opened)
		require.False(t, r.Changed, "nothing to commit")
		require.Empty(t, r.Index)
		require.Equal(t, rs[0].Timeline, r.Timeline)
		require.Equal(t, rs[0].Alerts, r.Alerts)
	})

	t.Run("the same occurrence seen again later moves last seen only", func(t *testing.T) {
		var b book
		b.apply([]klaxon.Alert{firing("a")}, t0, tmpl)
		later := t0.Add(incident.LastSeenEvery)
		r := b.apply([]klaxon.Alert{firing("a")}, later, tmpl)
		require.True(t, r.Changed)
		a := r.Alerts[0]
		require.Equal(t, 1, a.Count)
		require.Equal(t, t0, a.FirstSeen)
		require.Equal(t, later, a.LastSeen)
		require.Len(t, r.Timeline, 1, "no event")
	})

	t.Run("a changed summary is news at once", func(t *testing.T) {
		var b book
		b.apply([]klaxon.Alert{firing("a")}, t0, tmpl)
		a := firing("a")
		a.Summary = "worse"
		r := b.apply([]klaxon.Alert{a}, t0.Add(time.Second), tmpl)
		require.True(t, r.Changed)
		require.Equal(t, "worse", r.Alerts[0].Summary)
		require.Equal(t, 1, r.Alerts[0].Count, "the same occurrence")
	})

	t.Run("a new report replaces labels and annotations, keeps count and first seen", func(t *testing.T) {
		a, again := firing("a"), alert("a", klaxon.Firing, t0.Add(time.Minute))
		a.Labels, again.Labels = map[string]string{"instance": "1"}, map[string]string{"instance": "2"}
		again.Annotations = map[string]string{"runbook": "r"}
		rs := deliver([]klaxon.Alert{a}, []klaxon.Alert{again})
		require.Equal(t, again, rs[1].Alerts[0].Alert)
		require.Equal(t, 2, rs[1].Alerts[0].Count)
		require.Equal(t, t0, rs[1].Alerts[0].FirstSeen)
		require.Equal(t, t0.Add(time.Second), rs[1].Alerts[0].LastSeen)
	})

	t.Run("a new occurrence of an open alert counts but does not join", func(t *testing.T) {
		again := alert("a", klaxon.Firing, t0.Add(time.Minute))
		rs := deliver([]klaxon.Alert{firing("a")}, []klaxon.Alert{again})
		require.Equal(t, 2, rs[1].Alerts[0].Count)
		require.Empty(t, rs[1].Index)
		require.Len(t, rs[1].Timeline, 1)
	})

	t.Run("an earlier start of the occurrence firing is the same occurrence", func(t *testing.T) {
		t1, t2 := alert("a", klaxon.Firing, t0), alert("a", klaxon.Firing, t0.Add(time.Hour))
		t2.Summary = "later"
		rs := deliver([]klaxon.Alert{t1}, []klaxon.Alert{t2}, []klaxon.Alert{t1})
		require.False(t, rs[2].Changed, "seen again within a minute")
		a := rs[2].Alerts[0]
		require.Equal(t, 2, a.Count, "not counted again")
		require.Equal(t, t0.Add(time.Hour), a.StartsAt, "starts_at does not go back")
		require.Equal(t, "later", a.Summary)

		var b book
		b.apply([]klaxon.Alert{t2}, t0, tmpl)
		r := b.apply([]klaxon.Alert{t1}, t0.Add(incident.LastSeenEvery), tmpl)
		require.True(t, r.Changed)
		require.True(t, r.Alerts[0].Partial, "its details are not the report's")
		require.Equal(t, 1, r.Alerts[0].Count)
		require.Equal(t, t0.Add(incident.LastSeenEvery), r.Alerts[0].LastSeen)
	})

	t.Run("a resolve that ended before the occurrence firing began changes nothing", func(t *testing.T) {
		ended := alert("a", klaxon.Resolved, t0)
		ended.EndsAt = t0.Add(30 * time.Minute)
		rs := deliver([]klaxon.Alert{firing("a")}, []klaxon.Alert{alert("a", klaxon.Firing, t0.Add(time.Hour))}, []klaxon.Alert{ended})
		require.False(t, rs[2].Changed)
		require.Equal(t, klaxon.Firing, rs[2].Alerts[0].Status)
		require.Equal(t, klaxon.StateTriggered, rs[2].Incident.State)
	})

	t.Run("a resolve with an earlier start resolves the occurrence it ended", func(t *testing.T) {
		// Alertmanager keeps the earliest start of a pair of Prometheus.
		resolve := alert("a", klaxon.Resolved, t0)
		resolve.EndsAt = t0.Add(time.Hour)
		rs := deliver([]klaxon.Alert{alert("a", klaxon.Firing, t0.Add(30*time.Second))}, []klaxon.Alert{firing("a")}, []klaxon.Alert{resolve})
		require.True(t, rs[2].Resolved)
		require.Equal(t, klaxon.Resolved, rs[2].Alerts[0].Status)
	})

	t.Run("a resolve that says only its status is never late", func(t *testing.T) {
		// A heartbeat's ping that raced the deadline whose alert starts
		// after it.
		ping := alert("a", klaxon.Resolved, t0)
		ping.EndsAt, ping.Partial = t0, true
		rs := deliver([]klaxon.Alert{alert("a", klaxon.Firing, t0.Add(time.Second))}, []klaxon.Alert{ping})
		require.True(t, rs[1].Resolved)
	})

	t.Run("a late firing of an occurrence older than the one resolved changes nothing", func(t *testing.T) {
		rs := deliver([]klaxon.Alert{firing("a"), firing("b")}, []klaxon.Alert{alert("a", klaxon.Firing, t0.Add(time.Hour))},
			[]klaxon.Alert{alert("a", klaxon.Resolved, t0.Add(time.Hour))}, []klaxon.Alert{firing("a")})
		require.False(t, rs[3].Changed)
		require.Equal(t, klaxon.Resolved, rs[3].Alerts[0].Status)
		require.Equal(t, 1, rs[3].Incident.FiringCount)
	})

	t.Run("a firing with the start of the occurrence that resolved fires again", func(t *testing.T) {
		// A Prometheus that restarted restores the alert's start, and
		// sends it firing after Alertmanager resolved it for want of
		// reports: it pages again rather than go unseen.
		rs := deliver([]klaxon.Alert{firing("a"), firing("b")}, []klaxon.Alert{resolved("a")}, []klaxon.Alert{firing("a")})
		require.True(t, rs[2].Changed)
		require.Equal(t, klaxon.Firing, rs[2].Alerts[0].Status)
		require.Equal(t, 2, rs[2].Incident.FiringCount)
	})

	t.Run("a report without a start is of the occurrence firing", func(t *testing.T) {
		a, b := alert("a", klaxon.Firing, time.Time{}), alert("a", klaxon.Firing, t0)
		rs := deliver([]klaxon.Alert{b}, []klaxon.Alert{a}, []klaxon.Alert{b})
		require.False(t, rs[1].Changed, "seen again lately")
		require.False(t, rs[2].Changed)
		require.Equal(t, 1, rs[0].Alerts[0].Count)
		require.Equal(t, t0, rs[0].Alerts[0].StartsAt)
	})

	t.Run("a renotification is of the occurrence firing, and late after its resolve", func(t *testing.T) {
		// Datadog dates a renotification when it sends it, and a
		// resolve when the monitor recovered.
		renotify := func(at time.Time) klaxon.Alert {
			a := alert("a", klaxon.Firing, at)
			a.Repeat = true
			return a
		}
		rs := deliver([]klaxon.Alert{firing("a"), firing("b")}, []klaxon.Alert{renotify(t0.Add(time.Hour))},
			[]klaxon.Alert{alert("a", klaxon.Resolved, t0.Add(2*time.Hour))}, []klaxon.Alert{renotify(t0.Add(90 * time.Minute))},
			[]klaxon.Alert{alert("a", klaxon.Firing, t0.Add(3*time.Hour))})
		require.False(t, rs[1].Changed, "the occurrence firing, seen again lately")
		require.True(t, rs[2].Changed)
		require.False(t, rs[3].Changed, "sent before the monitor recovered, delivered after")
		require.Equal(t, 1, rs[3].Incident.FiringCount)
		require.Equal(t, 2, rs[4].Alerts[0].Count, "triggered again")
	})

	t.Run("a late resolve as moved indexes again an alert seen firing here since it moved", func(t *testing.T) {
		moved := func(at time.Time) klaxon.Alert {
			a := resolved("a")
			a.Partial, a.MovedTo, a.EndsAt = true, "9", at
			return a
		}
		// Seen at t0 and, again, at t0+1s.
		rs := deliver([]klaxon.Alert{firing("a"), firing("b")}, []klaxon.Alert{alert("a", klaxon.Firing, t0.Add(time.Second))},
			[]klaxon.Alert{moved(t0)}, []klaxon.Alert{moved(t0.Add(time.Second))})
		require.True(t, rs[2].Changed, "seen after it moved: indexed here again")
		require.Equal(t, []string{"prometheus/a"}, rs[2].Index)
		require.Equal(t, rs[1].Alerts, rs[2].Alerts, "and nothing else of it changes")
		require.Len(t, rs[2].Timeline, len(rs[1].Timeline))
		require.True(t, rs[3].Changed, "not seen since it moved")
		require.Equal(t, "moved to incident 9: "+firing("a").Summary, rs[3].Timeline[len(rs[3].Timeline)-1].Text)
	})

	t.Run("a source that gives no start: a retry is a no-op, firing again counts", func(t *testing.T) {
		a, gone := alert("a", klaxon.Firing, time.Time{}), alert("a", klaxon.Resolved, time.Time{})
		rs := deliver([]klaxon.Alert{a, firing("b")}, []klaxon.Alert{a}, []klaxon.Alert{gone}, []klaxon.Alert{a})
		require.False(t, rs[1].Changed, "the sender's retry")
		require.Equal(t, 2, rs[3].Alerts[0].Count, "fired again after it resolved")
		require.Equal(t, klaxon.EventAlertRefired, rs[3].Timeline[len(rs[3].Timeline)-1].Kind)
	})

	t.Run("resolving one alert of two keeps the incident open", func(t *testing.T) {
		rs := deliver([]klaxon.Alert{firing("a"), firing("b")}, []klaxon.Alert{resolved("a"), firing("b")})
		r := rs[1]
		require.False(t, r.Resolved)
		require.Equal(t, klaxon.StateTriggered, r.Incident.State)
		require.Equal(t, klaxon.Resolved, r.Alerts[0].Status)
		require.Equal(t, klaxon.Firing, r.Alerts[1].Status)
		require.Equal(t, 1, r.Incident.FiringCount)
		require.Equal(t, klaxon.EventAlertResolved, r.Timeline[len(r.Timeline)-1].Kind)
	})

	t.Run("resolving every alert resolves the incident", func(t *testing.T) {
		rs := deliver([]klaxon.Alert{firing("a"), firing("b")}, []klaxon.Alert{resolved("a")}, []klaxon.Alert{resolved("b")})
		r := rs[2]
		require.True(t, r.Resolved)
		require.Equal(t, klaxon.StateResolved, r.Incident.State)
		require.Equal(t, "auto", r.Timeline[len(r.Timeline)-1].How)
		require.Equal(t, t0.Add(2*time.Second), r.Incident.ResolvedAt)
		require.Zero(t, r.Incident.FiringCount)
	})

	t.Run("keep open: all alerts resolved, the incident waits for a person", func(t *testing.T) {
		keep := tmpl
		keep.KeepOpen = true
		var b book
		b.apply([]klaxon.Alert{firing("a")}, t0, keep)
		// A resolve comes by the alert index, with no route's template:
		// the incident keeps what its route said.
		r := b.apply([]klaxon.Alert{resolved("a")}, t0, tmpl)
		require.False(t, r.Resolved)
		require.Equal(t, klaxon.StateTriggered, r.Incident.State)
		require.True(t, r.Incident.KeepOpen)
	})

	t.Run("a resolve retried is a no-op", func(t *testing.T) {
		rs := deliver([]klaxon.Alert{firing("a"), firing("b")}, []klaxon.Alert{resolved("a")}, []klaxon.Alert{resolved("a")})
		require.False(t, rs[2].Changed)
		require.Len(t, rs[2].Timeline, len(rs[1].Timeline))
	})

	t.Run("a resolved alert re-fires within the open incident", func(t *testing.T) {
		rs := deliver([]klaxon.Alert{firing("a"), firing("b")}, []klaxon.Alert{resolved("a")}, []klaxon.Alert{alert("a", klaxon.Firing, t0.Add(time.Hour))})
		r := rs[2]
		require.False(t, r.Opened)
		require.Equal(t, klaxon.Firing, r.Alerts[0].Status)
		require.Equal(t, 2, r.Alerts[0].Count)
		require.Equal(t, klaxon.EventAlertRefired, r.Timeline[len(r.Timeline)-1].Kind)
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
		var b book
		b.apply([]klaxon.Alert{firing("a")}, t0, tmpl)
		b.open.State = klaxon.StateAcknowledged
		r := b.apply([]klaxon.Alert{firing("b")}, t0, tmpl)
		require.Equal(t, klaxon.StateAcknowledged, r.Incident.State)
		require.Len(t, r.Alerts, 2)
		require.Equal(t, 2, r.Incident.AlertCount)
	})

	t.Run("opened and resolved in one body: recorded, nothing to page or index", func(t *testing.T) {
		r := deliver([]klaxon.Alert{firing("a"), resolved("a")})[0]
		require.True(t, r.Opened)
		require.True(t, r.Resolved)
		require.Empty(t, r.Index)
	})

	t.Run("apply never changes the incident it was given", func(t *testing.T) {
		open := incident.Apply(nil, nil, []klaxon.Alert{firing("a")}, t0, tmpl).Incident
		known := map[string]klaxon.Seen{"prometheus/a": open.Changed[0].Seen()}
		before, knownBefore := incident.Clone(open), maps.Clone(known)
		incident.Apply(open, known, []klaxon.Alert{resolved("a"), firing("b")}, t0.Add(time.Second), tmpl)
		require.Equal(t, before, open)
		require.Equal(t, knownBefore, known)
	})
}

func BenchmarkApplyDedup(b *testing.B) {
	body := make([]klaxon.Alert, 100)
	for i := range body {
		body[i] = firing(string(rune('a'+i%26)) + string(rune('a'+i/26)))
	}
	r := incident.Apply(nil, nil, body, t0, tmpl)
	known := map[string]klaxon.Seen{}
	for _, a := range r.Incident.Changed {
		known[a.Key] = a.Seen()
	}
	open := incident.Clone(r.Incident)
	open.Changed, open.Recorded = nil, nil
	b.ReportAllocs()
	for b.Loop() {
		incident.Apply(open, known, body, t0, tmpl)
	}
}

// TestUrgency: an incident's urgency is its route's, else its first
// alert's severity's; an alert of high urgency that joins one of low
// urgency raises it (unless the route set it), and it is never lowered.
// The engine is told to page for it, once the walk has paged.
func TestUrgency(t *testing.T) {
	for _, c := range []struct {
		name             string
		route            klaxon.Urgency
		severity, joined string
		want             klaxon.Urgency
	}{
		{"critical is high", "", "critical", "", klaxon.UrgencyHigh},
		{"page is high", "", "page", "", klaxon.UrgencyHigh},
		{"error is high, as on PagerDuty", "", "error", "", klaxon.UrgencyHigh},
		{"info is low", "", "info", "", klaxon.UrgencyLow},
		{"warning is low", "", "warning", "", klaxon.UrgencyLow},
		{"no severity is low", "", "", "", klaxon.UrgencyLow},
		{"the route decides over the severity", klaxon.UrgencyLow, "critical", "", klaxon.UrgencyLow},
		{"a critical alert joins: raised", "", "warning", "critical", klaxon.UrgencyHigh},
		{"an error joins: raised", "", "info", "error", klaxon.UrgencyHigh},
		{"a warning joins: not lowered", "", "critical", "warning", klaxon.UrgencyHigh},
		{"the route's stays", klaxon.UrgencyLow, "warning", "critical", klaxon.UrgencyLow},
	} {
		t.Run(c.name, func(t *testing.T) {
			tm := tmpl
			tm.Urgency = c.route
			a := firing("a")
			a.Severity = c.severity
			r := incident.Apply(nil, nil, []klaxon.Alert{a}, t0, tm)
			if c.joined != "" {
				open := incident.Clone(r.Incident)
				open.Changed, open.Recorded = nil, nil
				open.Escalation.Step = 0 // its first step paged
				b := firing("b")
				b.Severity = c.joined
				r = incident.Apply(open, nil, []klaxon.Alert{b}, t0.Add(time.Minute), tm)
				raised := c.want != klaxon.UrgencyOf(c.severity)
				require.Equal(t, raised, r.Raised)
				require.Equal(t, raised, !r.Incident.Escalation.RaiseDue.IsZero())
				require.Equal(t, raised, slices.ContainsFunc(r.Incident.Recorded, func(e klaxon.Event) bool { return e.Kind == klaxon.EventUrgencyRaised }))
			}
			require.Equal(t, c.want, r.Incident.Urgency)
		})
	}

	t.Run("raised in the delivery that opens it: the walk has not begun", func(t *testing.T) {
		a, b := firing("a"), firing("b")
		a.Severity, b.Severity = "warning", "critical"
		r := incident.Apply(nil, nil, []klaxon.Alert{a, b}, t0, tmpl)
		require.Equal(t, klaxon.UrgencyHigh, r.Incident.Urgency)
		require.Equal(t, "critical", r.Incident.Severity)
		require.False(t, r.Raised)
		require.Zero(t, r.Incident.Escalation.RaiseDue, "its first step pages at high urgency")
	})

	t.Run("a resolve of a critical alert raises nothing", func(t *testing.T) {
		a := firing("a")
		a.Severity = "warning"
		r := incident.Apply(nil, nil, []klaxon.Alert{a, firing("b")}, t0, tmpl)
		open := incident.Clone(r.Incident)
		open.Changed, open.Recorded = nil, nil
		b := firing("b")
		b.Status, b.Severity = klaxon.Resolved, "critical"
		known := map[string]klaxon.Seen{"a": r.Incident.Changed[0].Seen(), "b": r.Incident.Changed[1].Seen()}
		r = incident.Apply(open, known, []klaxon.Alert{b}, t0.Add(time.Minute), tmpl)
		require.Equal(t, klaxon.UrgencyLow, r.Incident.Urgency)
	})
}
