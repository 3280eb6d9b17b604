package incident_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/incident"
)

// TestSilenceRecordsPagesGivenUp: acknowledging, snoozing or resolving
// an incident drops its pages not sent; one whose tries failed and that
// was to be tried again is given up then, and the timeline says so, as
// an escalation's does (a page_failed that is final), so that the review
// knows what became of it.
func TestSilenceRecordsPagesGivenUp(t *testing.T) {
	t0 := time.Date(2026, 11, 23, 22, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name, why string
		act       func(*klaxon.Incident, time.Time) error
	}{
		{"acknowledge", "acknowledged", func(inc *klaxon.Incident, now time.Time) error {
			_, err := incident.Acknowledge(inc, now, klaxon.Actor{By: "ops", How: "api"})
			return err
		}},
		{"snooze", "snoozed", func(inc *klaxon.Incident, now time.Time) error {
			return incident.Snooze(inc, now, time.Hour, 0, klaxon.Actor{By: "ops", How: "api"})
		}},
		{"resolve", "resolved", func(inc *klaxon.Incident, now time.Time) error {
			incident.Resolve(inc, now, klaxon.Actor{How: "auto"})
			return nil
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inc := &klaxon.Incident{ID: "42", State: klaxon.StateTriggered, CreatedAt: t0, Seq: 2,
				Pending: []klaxon.Notification{
					{ID: 1, User: "alice", Via: "sms", Due: t0.Add(30 * time.Second), PutOff: true},
					{ID: 2, User: "alice", Via: "voice", Due: t0.Add(5 * time.Minute)}, // a later rule: never tried
				},
				Sent: []klaxon.Sent{{Notification: 1, User: "alice", Via: "sms", Tries: 2, FirstTry: t0.Add(time.Second)}},
			}
			now := t0.Add(20 * time.Second)
			require.NoError(t, tc.act(inc, now))
			require.Empty(t, inc.Pending)
			var failed []klaxon.Event
			for _, e := range inc.Recorded {
				if e.Kind == klaxon.EventPageFailed {
					failed = append(failed, e)
				}
			}
			require.Len(t, failed, 1, "the page tried and given up, not the rule never tried")
			step := 0
			require.Equal(t, klaxon.Event{At: now, Kind: klaxon.EventPageFailed, Step: &step, Notification: 1, User: "alice", Via: "sms",
				Text: "not tried again after 2 failed tries: " + tc.why}, failed[0])
		})
	}
}

// TestSilenceRecordsHeldPageGivenUp: a page whose try failed, and that
// its channel then held back to a time it gave (Notification.Deferred),
// is dropped by an acknowledgement like any page not sent: it will not
// be tried again, and the timeline says so and why, as it does for a
// page that waits for its next try, so that the review knows why its
// failed try was the last.
func TestSilenceRecordsHeldPageGivenUp(t *testing.T) {
	t0 := time.Date(2026, 11, 23, 22, 0, 0, 0, time.UTC)
	inc := &klaxon.Incident{ID: "42", State: klaxon.StateTriggered, CreatedAt: t0, Seq: 1,
		Pending: []klaxon.Notification{
			{ID: 1, User: "dana", Via: "voice", Due: t0.Add(10 * time.Minute), PutOff: true, Deferred: true},
		},
		Sent: []klaxon.Sent{{Notification: 1, User: "dana", Via: "voice", Tries: 1, FirstTry: t0.Add(time.Second)}},
	}
	now := t0.Add(time.Minute)
	_, err := incident.Acknowledge(inc, now, klaxon.Actor{By: "ops", How: "api"})
	require.NoError(t, err)
	require.Empty(t, inc.Pending, "nothing is paged after an acknowledgement")
	var failed []klaxon.Event
	for _, e := range inc.Recorded {
		if e.Kind == klaxon.EventPageFailed {
			failed = append(failed, e)
		}
	}
	step := 0
	require.Equal(t, []klaxon.Event{{At: now, Kind: klaxon.EventPageFailed, Step: &step, Notification: 1, User: "dana", Via: "voice",
		Text: "not tried again after 1 failed tries: acknowledged"}}, failed)
}
