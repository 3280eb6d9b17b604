package escalate_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/escalate"
	"github.com/klaxonhq/klaxon/incident"
)

// TestUrgencyRaised: an incident a warning opened walks at low urgency;
// when a critical alert joins it, the people of the steps walked so far
// are paged by their rules for high urgency, the ones that did not apply,
// once each, when the walk would have paged them had the incident been
// high from the start (a rule's delay counts from when the walk turned to
// the person; one past goes at once), and the walk goes on from where it
// was.
func TestUrgencyRaised(t *testing.T) {
	// dana is mailed for any urgency and called a minute on for high;
	// erin is texted for high urgency only; frank is mailed for any; gina
	// is mailed for any and called ten minutes on for high.
	dir := map[string]klaxon.User{
		"dana":  {ID: "dana", Notify: []klaxon.NotifyRule{{Via: klaxon.ViaEmail}, {Via: klaxon.ViaVoice, After: time.Minute, Urgency: klaxon.UrgencyHigh}}},
		"erin":  {ID: "erin", Notify: []klaxon.NotifyRule{{Via: klaxon.ViaSMS, Urgency: klaxon.UrgencyHigh}}},
		"frank": {ID: "frank", Notify: []klaxon.NotifyRule{{Via: klaxon.ViaEmail}}},
		"gina":  {ID: "gina", Notify: []klaxon.NotifyRule{{Via: klaxon.ViaEmail}, {Via: klaxon.ViaVoice, After: 10 * time.Minute, Urgency: klaxon.UrgencyHigh}}},
	}
	lookup := func(s klaxon.Step) ([]klaxon.User, []string, error) {
		var out []klaxon.User
		for _, tg := range s.Targets {
			out = append(out, dir[tg.Name])
		}
		return out, nil, nil
	}
	step := func(names ...string) klaxon.Step {
		s := klaxon.Step{EscalateAfter: 5 * time.Minute}
		for _, n := range names {
			s.Targets = append(s.Targets, klaxon.Target{Kind: klaxon.TargetUser, Name: n})
		}
		return s
	}
	policy := klaxon.Policy{Name: "p", Steps: []klaxon.Step{step("dana", "erin"), step("frank"), step("dana")}}
	type sent struct {
		user, via string
		at        time.Duration
	}
	tests := []struct {
		name   string
		policy klaxon.Policy
		raise  time.Duration // when the critical alert joins
		ack    bool
		// pages are those the walk sends from the raise on, up to 30 minutes.
		pages []sent
		// again is the text of the engine's urgency_raised event, which
		// says whom it paged; "" for none.
		again string
	}{
		{"at the first step: its people by their rules for high urgency", policy, 2 * time.Minute, false,
			[]sent{{"erin", "sms", 2 * time.Minute}, {"dana", "voice", 2 * time.Minute}, {"frank", "email", 5 * time.Minute},
				{"dana", "email", 10 * time.Minute}, {"dana", "voice", 11 * time.Minute}},
			"paging dana, erin by the rules for high urgency"},
		{"at the last step: every step's people, each once", policy, 12 * time.Minute, false,
			[]sent{{"erin", "sms", 12 * time.Minute}, {"dana", "voice", 12 * time.Minute}},
			"paging dana, erin by the rules for high urgency"},
		{"in the second round: every step's", klaxon.Policy{Name: "p", Repeat: 1, Steps: []klaxon.Step{step("dana"), step("frank"), step("erin")}}, 17 * time.Minute, false,
			[]sent{{"erin", "sms", 17 * time.Minute}, {"dana", "voice", 17 * time.Minute}, {"erin", "sms", 20 * time.Minute}},
			"paging dana, erin by the rules for high urgency"},
		{"a rule's delay counts from when the walk turned to the person, as it would have at high urgency",
			klaxon.Policy{Name: "p", Steps: []klaxon.Step{step("gina"), step("frank")}}, 2 * time.Minute, false,
			[]sent{{"frank", "email", 5 * time.Minute}, {"gina", "voice", 10 * time.Minute}},
			"paging gina by the rules for high urgency"},
		{"a walk that ended reaching nobody: its people are paged now",
			klaxon.Policy{Name: "p", Steps: []klaxon.Step{step("erin")}}, 10 * time.Minute, false,
			[]sent{{"erin", "sms", 10 * time.Minute}},
			"paging erin by the rules for high urgency"},
		{"nobody has a rule for high urgency only: nothing more", klaxon.Policy{Name: "p", Steps: []klaxon.Step{step("frank")}}, 2 * time.Minute, false,
			nil, ""},
		{"acknowledged: nobody is paged", policy, 2 * time.Minute, true, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tmpl := incident.Template{Group: "g", Policy: tt.policy}
			warn := klaxon.Alert{Key: "dd/1", Status: klaxon.Firing, Summary: "disk 85%", Severity: "warning", StartsAt: t0}
			r := incident.Apply(nil, nil, []klaxon.Alert{warn}, t0, tmpl)
			inc := incident.Clone(r.Incident)
			require.Equal(t, klaxon.UrgencyLow, inc.Urgency)
			// The walk at low urgency until the raise: what it sends is
			// taken out of the outbox.
			clock := t0 // a timer due in the past fires now, as the engine's does
			run := func(until time.Duration) []sent {
				var out []sent
				for {
					due := escalate.NextDue(inc)
					if due.IsZero() || due.Sub(t0) > until {
						return out
					}
					if due.Before(clock) {
						due = clock
					}
					clock = due
					_, err := escalate.Walk(inc, due, lookup, nil)
					require.NoError(t, err)
					var left []klaxon.Notification
					for _, n := range inc.Pending {
						if n.Due.After(due) {
							left = append(left, n)
							continue
						}
						out = append(out, sent{n.User, n.Via, due.Sub(t0)})
						inc.Record(klaxon.Event{At: due, Kind: klaxon.EventPageSent, Notification: n.ID, User: n.User, Via: n.Via})
					}
					inc.Pending = left
				}
			}
			run(tt.raise - time.Second)
			at := t0.Add(tt.raise)
			if tt.ack {
				_, err := incident.Acknowledge(inc, at, klaxon.Actor{By: "dana", How: "api"})
				require.NoError(t, err)
			}
			inc.Changed, inc.Recorded = nil, nil
			crit := warn
			crit.Key, crit.Summary, crit.Severity = "dd/2", "disk 99%", "critical"
			r = incident.Apply(inc, nil, []klaxon.Alert{crit}, at, tmpl)
			inc = incident.Clone(r.Incident)
			require.Equal(t, klaxon.UrgencyHigh, inc.Urgency)
			require.Equal(t, "critical", inc.Severity, "its pages say how severe it is now")
			require.Equal(t, klaxon.EventUrgencyRaised, inc.Recorded[len(inc.Recorded)-1].Kind)
			require.Equal(t, !tt.ack, r.Raised, "the engine is woken for it")
			if !tt.ack {
				require.False(t, escalate.NextDue(inc).After(at), "due at once")
			}
			clock = at
			inc.Recorded = nil
			got := run(30 * time.Minute)
			require.ElementsMatch(t, tt.pages, got)
			var again string
			for _, e := range inc.Recorded {
				if e.Kind == klaxon.EventUrgencyRaised && strings.HasPrefix(e.Text, "paging ") {
					again = e.Text
				}
			}
			require.Equal(t, tt.again, again)
			require.Zero(t, inc.Escalation.RaiseDue, "paged for once")
		})
	}
}

// TestUrgencyRaisedLookupFails: a lookup of who to page that fails
// leaves the incident to page for its urgency when tried again.
func TestUrgencyRaisedLookupFails(t *testing.T) {
	inc := newIncident(twoSteps)
	inc.Urgency = klaxon.UrgencyHigh
	inc.Escalation = klaxon.Escalation{Step: 0, NextAt: t0.Add(5 * time.Minute), RaiseDue: t0}
	down := errors.New("schedule store unreachable")
	_, err := escalate.Walk(inc, t0, func(klaxon.Step) ([]klaxon.User, []string, error) { return nil, nil, down }, nil)
	require.ErrorIs(t, err, down)
	require.Equal(t, t0, inc.Escalation.RaiseDue, "still to page for")
	dana := klaxon.User{ID: "dana", Notify: []klaxon.NotifyRule{{Via: klaxon.ViaVoice, Urgency: klaxon.UrgencyHigh}}}
	changed, err := escalate.Walk(inc, t0.Add(time.Minute), func(klaxon.Step) ([]klaxon.User, []string, error) {
		return []klaxon.User{dana}, nil, nil
	}, nil)
	require.NoError(t, err)
	require.True(t, changed)
	require.Zero(t, inc.Escalation.RaiseDue)
	require.Len(t, escalate.Due(inc, t0.Add(time.Minute)), 1, "dana's call")
}
