package review_test

import (
	"time"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/review"
)

// Scripting a history for the report's tests, on fixed times.

// scripted is an incident being scripted: its header and its timeline.
type scripted struct{ review.Incident }

func script(id, opened, policy string, labels map[string]string, summary string) *scripted {
	return &scripted{review.Incident{Incident: &klaxon.Incident{
		ID: id, Summary: summary, Labels: labels, State: klaxon.StateTriggered,
		CreatedAt: at(opened), Policy: klaxon.Policy{Name: policy},
	}}}
}

func (s *scripted) incident() review.Incident { return s.Incident }

func (s *scripted) event(e klaxon.Event) *scripted {
	s.Timeline = append(s.Timeline, e)
	return s
}

func (s *scripted) alert(kind, when, key string) *scripted {
	return s.event(klaxon.Event{At: at(when), Kind: klaxon.EventKind(kind), Alert: key, Text: s.Summary})
}

func (s *scripted) escalate(when string, step int) *scripted {
	return s.event(klaxon.Event{At: at(when), Kind: klaxon.EventEscalated, Step: &step})
}

func (s *scripted) page(when, user, via string) *scripted {
	n := 1
	for _, e := range s.Timeline {
		if e.Kind == klaxon.EventPageSent {
			n++
		}
	}
	return s.event(klaxon.Event{At: at(when), Kind: klaxon.EventPageSent, Step: new(0), Notification: n, User: user, Via: via})
}

func (s *scripted) ack(when, by, how string) *scripted {
	s.State, s.AckedAt, s.AckedBy = klaxon.StateAcknowledged, at(when), by
	return s.event(klaxon.Event{At: at(when), Kind: klaxon.EventAcknowledged, By: by, How: how})
}

func (s *scripted) resolve(when, by string) *scripted {
	how := "web"
	if by == "" {
		how = "auto"
	}
	s.State, s.ResolvedAt, s.ResolvedBy = klaxon.StateResolved, at(when), by
	return s.event(klaxon.Event{At: at(when), Kind: klaxon.EventResolved, By: by, How: how})
}

func keys(groups []review.Group) []string {
	var out []string
	for _, g := range groups {
		out = append(out, g.Key)
	}
	return out
}

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func dur(s string) review.Duration {
	d, err := time.ParseDuration(s)
	if err != nil {
		panic(err)
	}
	return review.Duration(d)
}
