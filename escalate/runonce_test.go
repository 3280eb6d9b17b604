package escalate_test

import (
	"context"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/escalate"
	"github.com/klaxonhq/klaxon/internal/fakeclock"
	"github.com/klaxonhq/klaxon/store/embedded"
)

// claimGate is a store whose first Claim that claims a timer, once it
// has claimed it, holds its caller until open is closed: an engine's
// goroutine taken off the CPU between its claim and its fire.
type claimGate struct {
	klaxon.Store
	once          sync.Once
	claimed, open chan struct{}
}

func (g *claimGate) Claim(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]klaxon.Timer, time.Time, error) {
	due, next, err := g.Store.Claim(ctx, now, lease, limit)
	if len(due) > 0 {
		g.once.Do(func() {
			close(g.claimed)
			<-g.open
		})
	}
	return due, next, err
}

// TestRunOnceWaitsForRunsClaim: RunOnce returns once every fire is
// done, also that of a timer Run (woken by ingest) has just claimed and
// not yet begun to fire; RunOnce finds it leased and claims nothing.
// klaxontest's FastForward is RunOnce, and a test under load saw it
// return with a page still to go: the next incident's page then went
// at the same time (TestSlackDMAfterStormAcked: one of two pages was
// answered 429, the other went through).
func TestRunOnceWaitsForRunsClaim(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clk := fakeclock.New(t0)
		st, err := embedded.Open(filepath.Join(t.TempDir(), "k.db"))
		require.NoError(t, err)
		t.Cleanup(func() { st.Close() })
		g := &claimGate{Store: st, claimed: make(chan struct{}), open: make(chan struct{})}
		dir := directory{"alice": alice, "bob": bob}
		ph := &phone{}
		e := escalate.New(g, ph, func() escalate.Directory { return dir }, slog.New(slog.DiscardHandler),
			escalate.Options{Now: clk.Now, Poll: time.Hour})
		openIncident(t, st, twoSteps, t0)
		release := sync.OnceFunc(func() { close(g.open) })
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() { done <- e.Run(ctx) }()
		t.Cleanup(func() { release(); cancel(); <-done })
		<-g.claimed // Run claimed the timer, and has not begun its fire

		ran := make(chan struct{})
		go func() {
			_, err := e.RunOnce(t.Context())
			assert.NoError(t, err)
			close(ran)
		}()
		synctest.Wait()
		select {
		case <-ran:
			t.Fatalf("RunOnce returned before the fire of the timer Run claimed had begun; paged: %v", ph.got())
		default:
		}
		release()
		<-ran
		require.ElementsMatch(t, []string{"alice/sms", "alice/email"}, ph.got(), "the fire was done when RunOnce returned")
	})
}
