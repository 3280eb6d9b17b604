package escalate_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/escalate"
	"github.com/klaxonhq/klaxon/internal/fakeclock"
	"github.com/klaxonhq/klaxon/store/embedded"
)

// timedPhone records each page with the engine's clock at sending.
type timedPhone struct {
	mu    sync.Mutex
	clock func() time.Time
	got   []string
}

func (p *timedPhone) Notify(_ context.Context, pg klaxon.Page) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.got = append(p.got, fmt.Sprintf("%dm %s/%s", int(p.clock().Sub(t0).Minutes()), pg.User.ID, pg.Via))
	return nil
}

func (p *timedPhone) pages() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.got...)
}

// TestThreeStepWalk walks a three-step policy with repeat and ack timeout
// through the engine and the embedded store, minute by minute on a fake
// clock, and asserts every page and the minute it went out.
func TestThreeStepWalk(t *testing.T) {
	st, err := embedded.Open(filepath.Join(t.TempDir(), "k.db"))
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	carol := klaxon.User{ID: "carol", Notify: []klaxon.NotifyRule{{Via: klaxon.ViaSMS}}}
	dir := directory{"alice": alice, "bob": bob, "carol": carol}
	clk := fakeclock.New(t0)
	ph := &timedPhone{clock: clk.Now}
	e := escalate.New(st, ph, func() escalate.Directory { return dir }, slog.New(slog.NewTextHandler(io.Discard, nil)),
		escalate.Options{Now: clk.Now, Poll: time.Millisecond})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error)
	go func() { done <- e.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })

	user := func(id string) []klaxon.Target { return []klaxon.Target{{Kind: klaxon.TargetUser, Name: id}} }
	policy := klaxon.Policy{Name: "three", Repeat: 1, AckTimeout: 20 * time.Minute, Steps: []klaxon.Step{
		{Targets: user("alice"), EscalateAfter: 5 * time.Minute},
		{Targets: user("bob"), EscalateAfter: 10 * time.Minute},
		{Targets: user("carol"), EscalateAfter: 15 * time.Minute},
	}}
	id := openIncident(t, st, policy, t0)

	want := []string{
		"0m alice/sms", "0m alice/email", "1m alice/voice", // step 1
		"5m bob/email",                                        // step 2, 5m later
		"15m carol/sms",                                       // step 3, 10m later
		"30m alice/sms", "30m alice/email", "31m alice/voice", // repeat, 15m later
		// acknowledged at 32m: bob's step (35m) does not page
		"52m alice/sms", "52m alice/email", "53m alice/voice", // ack timed out after 20m: walk again
		"57m bob/email",
		"67m carol/sms",
		"82m alice/sms", "82m alice/email", "83m alice/voice", // its repeat
		"87m bob/email",
		"97m carol/sms",
		// exhausted at 112m: no more pages
	}
	// expected counts the pages due by minute m.
	expected := func(m int) int {
		n := 0
		for _, w := range want {
			var at int
			_, err := fmt.Sscanf(w, "%dm", &at)
			require.NoError(t, err)
			if at <= m {
				n++
			}
		}
		return n
	}
	for m := 0; m <= 130; m++ {
		clk.Set(t0.Add(time.Duration(m) * time.Minute))
		if m == 32 {
			_, err := e.Acknowledge(t.Context(), id, klaxon.Actor{By: "alice", How: "api"})
			require.NoError(t, err)
		}
		e.Wake()
		n := expected(m)
		require.Eventually(t, func() bool { return len(ph.pages()) >= n }, 10*time.Second, time.Millisecond, "at minute %d", m)
		require.ElementsMatch(t, want[:n], ph.pages(), "at minute %d", m)
	}
	var inc *klaxon.Incident
	require.Eventually(t, func() bool {
		inc, err = st.Incident(t.Context(), id)
		return err == nil && inc.Escalation.Done
	}, 10*time.Second, time.Millisecond, "the walk ends after the last step's escalate_after")
	timeline, err := klaxon.ReadTimeline(t.Context(), st, id)
	require.NoError(t, err)
	require.Equal(t, klaxon.EventExhausted, timeline[len(timeline)-1].Kind)
	require.False(t, timeline[len(timeline)-1].At.Before(t0.Add(112*time.Minute)), "not before carol's escalate_after ran out")
}
