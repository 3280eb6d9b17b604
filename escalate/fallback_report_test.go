package escalate_test

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/escalate"
	"github.com/klaxonhq/klaxon/incident"
	"github.com/klaxonhq/klaxon/store/embedded"
)

// withFallback is a directory whose fallback is carol.
type withFallback struct{ directory }

func (withFallback) Fallback() []string { return []string{"carol"} }

// badNumber is a phone whose calls to dana the provider refuses at once
// (a 4xx: not tried again), when refuse is set.
type badNumber struct {
	*phone
	refuse bool
}

func (b badNumber) Notify(ctx context.Context, pg klaxon.Page) error {
	if b.refuse && pg.User.ID == "dana" {
		_ = b.phone.Notify(ctx, pg)
		return klaxon.Invalid("phone", "21217: not a valid phone number")
	}
	return b.phone.Notify(ctx, pg)
}

// TestReportNotReachedPagesFallback: a page that Twilio reports did not
// reach its person (an SMS undelivered, a call answered by a machine,
// not answered) "counts as not reached", as a page that failed at once
// does. A walk whose every page was so reported reached nobody, and
// pages the fallback when it runs out of steps; a last step without
// escalate_after does not wait for an acknowledgement nobody could give.
func TestReportNotReachedPagesFallback(t *testing.T) {
	for _, tc := range []struct {
		name          string
		escalateAfter time.Duration
		detail        string // Twilio's report; "" for a call refused at once
	}{
		// As the engine has it: a call that fails at once reached nobody.
		{"call refused at once, step escalates after 5m", 5 * time.Minute, ""},
		{"call refused at once, last step waits for an ack", 0, ""},
		// As a report has it, it should be the same.
		{"call answered by a machine, step escalates after 5m", 5 * time.Minute, "answering machine"},
		{"call not answered, step escalates after 5m", 5 * time.Minute, "no-answer"},
		{"call answered by a machine, last step waits for an ack", 0, "answering machine"},
		{"call failed, last step waits for an ack", 0, "failed (error 32009)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ph := &phone{}
				st, e := danaOrCarol(t, badNumber{ph, tc.detail == ""}, nil)
				id := openIncident(t, st, danaPolicy(tc.escalateAfter), time.Now())
				e.Wake()
				time.Sleep(time.Second)
				synctest.Wait()
				if tc.detail != "" {
					require.Equal(t, []string{"dana/voice"}, ph.got())
					inc, err := st.Incident(t.Context(), id)
					require.NoError(t, err)
					require.Len(t, inc.Sent, 1)
					// Twilio's report: the call reached no one.
					require.NoError(t, e.Delivery(t.Context(), id, inc.Sent[0].Notification, false, tc.detail))
				}
				time.Sleep(10 * time.Minute)
				synctest.Wait()

				require.Equal(t, []string{"dana/voice", "carol/sms"}, ph.got(), "nobody was reached, and the fallback was not paged")
			})
		})
	}
}

// reportsFirst is a phone whose provider reports dana's call not reached
// before the engine has recorded the call as sent (Twilio's TwiML fetch
// of a call a machine answered, while the store is slow to write).
type reportsFirst struct {
	*phone
	e      *escalate.Engine
	detail string
}

func (r *reportsFirst) Notify(ctx context.Context, pg klaxon.Page) error {
	if err := r.phone.Notify(ctx, pg); err != nil {
		return err
	}
	if pg.User.ID == "dana" {
		return r.e.Delivery(ctx, pg.Incident, pg.Notification, false, r.detail)
	}
	return nil
}

// TestReportBeforeSentPagesFallback: a call reported not reached before
// the engine recorded it sent reached nobody, as one reported after:
// the walk that paged only it pages the fallback.
func TestReportBeforeSentPagesFallback(t *testing.T) {
	for _, tc := range []struct {
		name          string
		escalateAfter time.Duration
	}{
		{"step escalates after 5m", 5 * time.Minute},
		{"last step waits for an ack", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ph := &reportsFirst{phone: &phone{}, detail: "answering machine"}
				st, e := danaOrCarol(t, ph, func(e *escalate.Engine) { ph.e = e })
				id := openIncident(t, st, danaPolicy(tc.escalateAfter), time.Now())
				e.Wake()
				time.Sleep(10 * time.Minute)
				synctest.Wait()

				inc, err := st.Incident(t.Context(), id)
				require.NoError(t, err)
				s := inc.FindSent(1)
				require.NotNil(t, s)
				require.True(t, s.Failed, "the report before the send is kept")
				require.False(t, s.At.IsZero())
				require.Equal(t, []string{"dana/voice", "carol/sms"}, ph.got(), "nobody was reached, and the fallback was not paged")
			})
		})
	}
}

// TestReportNotReachedPagesFallbackLongIncident: an incident that paged
// 64 times in an earlier walk (Sent full), then triggered again (its ack
// timed out), walks anew: a page of the new walk reported not reaching
// its person "counts as none" (README) as it does in a short incident,
// and the walk that reached nobody pages the fallback. None of the new
// walk's pages can have been trimmed from Sent: it holds the latest 63.
func TestReportNotReachedPagesFallbackLongIncident(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ph := &phone{}
		st, e := danaOrCarol(t, ph, nil)
		p := danaPolicy(0)
		now := time.Now()
		id, err := st.NextIncidentID(t.Context())
		require.NoError(t, err)
		r := incident.Apply(nil, nil, []klaxon.Alert{{Key: "am/1", Status: klaxon.Firing, Summary: "disk full"}}, now, incident.Template{Group: "g" + id, Policy: p})
		inc := r.Incident
		inc.ID = id
		// An earlier walk's 64 pages, then a trigger again: a new walk.
		for n := 1; n <= 64; n++ {
			inc.Sent = append(inc.Sent, klaxon.Sent{Notification: n, User: "erin", Via: klaxon.ViaSMS, At: now.Add(-time.Hour)})
		}
		inc.Seq, inc.WalkFrom = 64, 64
		inc.Escalation = klaxon.Escalation{Step: -1}
		require.NoError(t, st.Commit(t.Context(), klaxon.Commit{Group: "g" + id, Open: id, Incidents: []*klaxon.Incident{inc},
			Index: r.Index, Timers: []klaxon.Timer{{Incident: id, Group: "g" + id, Due: now}}}))
		e.Wake()
		time.Sleep(time.Second)
		synctest.Wait()
		require.Equal(t, []string{"dana/voice"}, ph.got())
		got, err := st.Incident(t.Context(), id)
		require.NoError(t, err)
		s := got.FindSent(65)
		require.NotNil(t, s, "the new walk's page")
		require.NoError(t, e.Delivery(t.Context(), id, 65, false, "answering machine"))
		time.Sleep(10 * time.Minute)
		synctest.Wait()

		require.Equal(t, []string{"dana/voice", "carol/sms"}, ph.got(), "nobody was reached in this walk, and the fallback was not paged")
	})
}

// danaOrCarol runs, in t's bubble until it ends, an engine that pages
// through notifier, on a new embedded store, for a directory of dana
// (who has a call) and carol (an SMS), carol the fallback; setup, when
// set, is given the engine before it runs.
func danaOrCarol(t *testing.T, notifier escalate.Notifier, setup func(*escalate.Engine)) (*embedded.Store, *escalate.Engine) {
	t.Helper()
	return danaOrCarolBy(t, notifier, []klaxon.NotifyRule{{Via: klaxon.ViaVoice}}, []klaxon.NotifyRule{{Via: klaxon.ViaSMS}}, setup)
}

// danaOrCarolBy is danaOrCarol with dana notified by danaRules, and
// carol by carolRules.
func danaOrCarolBy(t *testing.T, notifier escalate.Notifier, danaRules, carolRules []klaxon.NotifyRule, setup func(*escalate.Engine)) (*embedded.Store, *escalate.Engine) {
	t.Helper()
	st, err := embedded.Open(filepath.Join(t.TempDir(), "k.db"))
	require.NoError(t, err)
	dana := klaxon.User{ID: "dana", Phone: "+15550100004", Notify: danaRules}
	carol := klaxon.User{ID: "carol", Phone: "+15550100003", Notify: carolRules}
	dir := withFallback{directory{"dana": dana, "carol": carol}}
	e := escalate.New(st, notifier, func() escalate.Directory { return dir }, slog.New(slog.DiscardHandler), escalate.Options{Poll: time.Second})
	if setup != nil {
		setup(e)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
		require.NoError(t, st.Close())
	})
	return st, e
}

// danaPolicy pages dana, and escalates after escalateAfter (0: its one
// step waits for an acknowledgement).
func danaPolicy(escalateAfter time.Duration) klaxon.Policy {
	return klaxon.Policy{Name: "dana", Steps: []klaxon.Step{{Targets: []klaxon.Target{{Kind: klaxon.TargetUser, Name: "dana"}}, EscalateAfter: escalateAfter}}}
}

// TestReportAfterWalkEndedPagesFallback: a page its provider reported as
// not reaching its person "counts as none" (README), also when the
// report lands after the last step's escalate_after ran out: a call
// that rang unanswered for a minute on a step of escalate_after 1m, an
// SMS whose carrier reports it undelivered minutes on. The walk, which
// paged only that page, reached nobody, and pages the fallback, as it
// does when the report beats the step's end.
func TestReportAfterWalkEndedPagesFallback(t *testing.T) {
	for _, tc := range []struct {
		name     string
		reportAt time.Duration // after the page went out
	}{
		{"report before the step ran out", 30 * time.Second},
		{"report after the step ran out", 90 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ph := &phone{}
				st, e := danaOrCarol(t, ph, nil)
				id := openIncident(t, st, danaPolicy(time.Minute), time.Now())
				e.Wake()
				time.Sleep(time.Second)
				synctest.Wait()
				require.Equal(t, []string{"dana/voice"}, ph.got())

				time.Sleep(tc.reportAt)
				synctest.Wait()
				inc, err := st.Incident(t.Context(), id)
				require.NoError(t, err)
				require.Len(t, inc.Sent, 1)
				require.NoError(t, e.Delivery(t.Context(), id, inc.Sent[0].Notification, false, "no-answer"))
				time.Sleep(10 * time.Minute)
				synctest.Wait()

				require.Equal(t, []string{"dana/voice", "carol/sms"}, ph.got(), "nobody was reached, and the fallback was not paged")
			})
		})
	}
}
