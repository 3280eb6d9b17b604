package notify_test

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/notify"
)

// holdingMail is a mail channel that holds its first sends back (as
// mail does while its relay's 421 pauses it), then sends.
type holdingMail struct {
	hold  time.Duration
	holds int
	start time.Time

	mu sync.Mutex
	at []time.Duration // when each send came
}

func (m *holdingMail) Send(ctx context.Context, p klaxon.Page) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.at = append(m.at, time.Since(m.start))
	if len(m.at) <= m.holds {
		return &klaxon.DeferredError{Until: time.Now().Add(m.hold)}
	}
	return nil
}

// TestStatusUpdateDeferred: a status update by mail that the channel
// holds back is sent once the hold is over, within the update's timeout
// (30 s); one held past it is given up at once.
func TestStatusUpdateDeferred(t *testing.T) {
	for _, tt := range []struct {
		name  string
		hold  time.Duration
		holds int
		want  []time.Duration
	}{
		{"held once", 10 * time.Second, 1, []time.Duration{0, 10 * time.Second}},
		{"held twice", 12 * time.Second, 2, []time.Duration{0, 12 * time.Second, 24 * time.Second}},
		{"held past the timeout", 40 * time.Second, 1, []time.Duration{0}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				m := &holdingMail{hold: tt.hold, holds: tt.holds, start: time.Now()}
				users := func(id string) (klaxon.User, bool) { return klaxon.User{ID: id, Email: id + "@example.com"}, true }
				u := notify.NewUpdates(m, nil, users, slog.New(slog.DiscardHandler))
				ctx, cancel := context.WithCancel(t.Context())
				done := make(chan error)
				go func() { done <- u.Run(ctx) }()
				u.Committed([]*klaxon.Incident{{ID: "7", Summary: "db down",
					Policy:   klaxon.Policy{Subscribers: []string{klaxon.TargetUser + ":alice"}},
					Recorded: []klaxon.Event{{Kind: klaxon.EventTriggered, Alert: "am/1"}}}})
				time.Sleep(time.Minute)
				synctest.Wait()
				cancel()
				require.NoError(t, <-done)
				m.mu.Lock()
				defer m.mu.Unlock()
				require.Equal(t, tt.want, m.at)
			})
		})
	}
}
