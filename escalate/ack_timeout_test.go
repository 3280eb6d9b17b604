package escalate_test

import (
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/escalate"
	"github.com/klaxonhq/klaxon/internal/fakeclock"
	"github.com/klaxonhq/klaxon/store/embedded"
)

// TestAckAgainRestartsAckTimeout: acknowledging an incident that is
// acknowledged already (a responder still on it says so again) restarts
// its ack_timeout from then, as PagerDuty's re-acknowledgement does: it
// triggers again ack_timeout after the latest acknowledgement, not the
// first. Before, the second acknowledgement changed nothing, and the
// incident paged again 30 minutes after the first while its responder
// had just said they were on it.
func TestAckAgainRestartsAckTimeout(t *testing.T) {
	st, err := embedded.Open(filepath.Join(t.TempDir(), "k.db"))
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	carol := klaxon.User{ID: "carol", Notify: []klaxon.NotifyRule{{Via: klaxon.ViaSMS}}}
	dir := directory{"bob": bob, "carol": carol}
	clk := fakeclock.New(t0)
	ph := &timedPhone{clock: clk.Now}
	e := escalate.New(st, ph, func() escalate.Directory { return dir }, slog.New(slog.NewTextHandler(io.Discard, nil)),
		escalate.Options{Now: clk.Now})
	// run turns the engine at each due time up to until.
	run := func(until time.Duration) {
		t.Helper()
		for {
			next, err := e.RunOnce(t.Context())
			require.NoError(t, err)
			if next.IsZero() || next.After(t0.Add(until)) {
				clk.Set(t0.Add(until))
				return
			}
			clk.Set(next)
		}
	}
	p := klaxon.Policy{Name: "p", AckTimeout: 30 * time.Minute, Steps: []klaxon.Step{
		{Targets: u("carol"), EscalateAfter: 5 * time.Minute},
		{Targets: u("bob"), EscalateAfter: 5 * time.Minute},
	}}
	id := openIncident(t, st, p, t0)
	ack := func(by string) {
		t.Helper()
		_, err := e.Acknowledge(t.Context(), id, klaxon.Actor{By: by, How: "api"})
		require.NoError(t, err)
	}
	run(2 * time.Minute)
	ack("carol")
	run(20 * time.Minute)
	ack("carol") // still on it
	run(49 * time.Minute)
	require.Equal(t, []string{"0m carol/sms"}, ph.pages(), "30 minutes after the first acknowledgement, none after the second")
	run(55 * time.Minute)
	require.Equal(t, []string{"0m carol/sms", "50m carol/sms", "55m bob/email"}, ph.pages(), "30 minutes after the second, the walk starts again")
}

func u(id string) []klaxon.Target { return []klaxon.Target{{Kind: klaxon.TargetUser, Name: id}} }
