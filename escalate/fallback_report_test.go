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
	dana := klaxon.User{ID: "dana", Phone: "+15550100004", Notify: []klaxon.NotifyRule{{Via: klaxon.ViaVoice}}}
	carol := klaxon.User{ID: "carol", Phone: "+15550100003", Notify: []klaxon.NotifyRule{{Via: klaxon.ViaSMS}}}
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
				st, err := embedded.Open(filepath.Join(t.TempDir(), "k.db"))
				require.NoError(t, err)
				defer st.Close()
				ph := &phone{}
				dir := withFallback{directory{"dana": dana, "carol": carol}}
				e := escalate.New(st, badNumber{ph, tc.detail == ""}, func() escalate.Directory { return dir }, slog.New(slog.DiscardHandler), escalate.Options{Poll: time.Second})
				ctx, cancel := context.WithCancel(t.Context())
				done := make(chan error, 1)
				go func() { done <- e.Run(ctx) }()
				defer func() { cancel(); require.NoError(t, <-done) }()

				p := klaxon.Policy{Name: "dana", Steps: []klaxon.Step{{Targets: []klaxon.Target{{Kind: klaxon.TargetUser, Name: "dana"}}, EscalateAfter: tc.escalateAfter}}}
				id := openIncident(t, st, p, time.Now())
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
