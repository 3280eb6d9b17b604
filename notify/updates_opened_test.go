package notify_test

import (
	"context"
	"log/slog"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/notify"
)

// A status update says when its incident opened, as its pages do: the
// mail channel threads the update with them by it.
func TestStatusUpdateSaysWhenItsIncidentOpened(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		opened := time.Date(2026, 11, 23, 22, 0, 0, 0, time.UTC)
		m := &recorder{}
		users := func(id string) (klaxon.User, bool) { return klaxon.User{ID: id, Email: id + "@example.com"}, true }
		u := notify.NewUpdates(m, nil, users, slog.New(slog.DiscardHandler))
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() { done <- u.Run(ctx) }()
		u.Committed([]*klaxon.Incident{{ID: "7", Summary: "db down", CreatedAt: opened,
			Policy:   klaxon.Policy{Subscribers: []string{klaxon.TargetUser + ":alice"}},
			Recorded: []klaxon.Event{{Kind: klaxon.EventTriggered, Alert: "am/1"}}}})
		synctest.Wait()
		cancel()
		require.NoError(t, <-done)
		// Run has returned: what it sent is all in m.
		require.Len(t, m.pages, 1)
		require.Equal(t, opened, m.pages[0].Opened)
	})
}
