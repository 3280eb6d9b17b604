package escalate_test

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/escalate"
)

// groupClaimer records the engine's claims: "all" for Claim, the groups
// for ClaimGroups. It has no timer to give. Any other call of the store
// panics (the embedded nil Store).
type groupClaimer struct {
	klaxon.Store
	mu     sync.Mutex
	claims []string
}

func (g *groupClaimer) Claim(context.Context, time.Time, time.Duration, int) ([]klaxon.Timer, time.Time, error) {
	g.record("all")
	return nil, time.Time{}, nil
}

func (g *groupClaimer) ClaimGroups(_ context.Context, _ time.Time, _ time.Duration, _ int, groups []string) ([]klaxon.Timer, time.Time, error) {
	groups = slices.Sorted(slices.Values(groups))
	g.record(strings.Join(groups, ","))
	return nil, time.Time{}, nil
}

func (g *groupClaimer) record(s string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.claims = append(g.claims, s)
}

func (g *groupClaimer) took() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := g.claims
	g.claims = nil
	return out
}

// TestWakeForGroups: woken for some groups, the engine claims their
// timers alone from a store that can; woken for all, when next is due,
// and at least every poll, it claims over every group.
func TestWakeForGroups(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := &groupClaimer{}
		e := escalate.New(st, nil, func() escalate.Directory { return directory{} }, slog.New(slog.DiscardHandler), escalate.Options{Poll: time.Minute})
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() { done <- e.Run(ctx) }()
		synctest.Wait()
		require.Equal(t, []string{"all"}, st.took(), "it looks over every group first")

		e.Wake("g1")
		synctest.Wait()
		require.Equal(t, []string{"g1"}, st.took())
		e.Wake("g2", "g3")
		synctest.Wait()
		require.Equal(t, []string{"g2,g3"}, st.took())
		e.Wake()
		synctest.Wait()
		require.Equal(t, []string{"all"}, st.took(), "woken for all")

		time.Sleep(59 * time.Second)
		synctest.Wait()
		require.Empty(t, st.took(), "nothing before the poll")
		time.Sleep(time.Second)
		synctest.Wait()
		require.Equal(t, []string{"all"}, st.took(), "every poll")

		// Woken for a group past the poll, in a storm that wakes it before
		// its timer does, it still looks over every group.
		time.Sleep(30 * time.Second)
		e.Wake("g1")
		synctest.Wait()
		require.Equal(t, []string{"g1"}, st.took())
		time.Sleep(30 * time.Second) // the poll's timer and this wake race; either looks over all
		e.Wake("g1")
		synctest.Wait()
		require.Contains(t, st.took(), "all")
		cancel()
		require.NoError(t, <-done)
	})
}
