package notify_test

import (
	"context"
	"log/slog"
	"strconv"
	"sync"
	"testing"
	"testing/synctest"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/syncbuf"
	"github.com/klaxonhq/klaxon/notify"
)

// stepped is a subscriber's receiver that takes one update per token.
type stepped struct {
	tokens chan struct{}
	mu     sync.Mutex
	got    int
}

func (s *stepped) Send(ctx context.Context, _ klaxon.Page) error {
	select {
	case <-s.tokens:
	case <-ctx.Done():
		return ctx.Err()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.got++
	return nil
}

func (s *stepped) sent() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.got
}

// TestStatusUpdatesWaitingBound: the updates that wait for a subscriber
// are "up to 16 MiB of them" (README, status updates): with updates of
// 2 MiB (a 1 MiB summary, and the text that names it), at most 8 wait
// besides the one it is taking, however the storm's commits fall
// between its sends.
func TestStatusUpdatesWaitingBound(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &stepped{tokens: make(chan struct{}, 100)}
		u := notify.NewUpdates(nil, func(string) (notify.Channel, error) { return s, nil }, nil, slog.New(slog.DiscardHandler))
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() { done <- u.Run(ctx) }()

		summary := string(make([]byte, 1<<20))
		n := 0
		commit := func(k int) {
			for range k {
				n++
				u.Committed([]*klaxon.Incident{{ID: strconv.Itoa(n), Summary: summary,
					Policy:   klaxon.Policy{Subscribers: []string{"https://status.example.com/hooks/klaxon"}},
					Recorded: []klaxon.Event{{Kind: klaxon.EventTriggered, Alert: "am/" + strconv.Itoa(n)}}}})
				synctest.Wait()
			}
		}
		commit(20)             // the first is being taken; the queue fills
		s.tokens <- struct{}{} // the subscriber takes the first
		synctest.Wait()        // and its goroutine takes the queue as a batch
		commit(20)             // more of the storm's commits land
		before := s.sent()
		for range 100 {
			s.tokens <- struct{}{}
		}
		synctest.Wait()
		cancel()
		require.NoError(t, <-done)
		waited := s.sent() - before - 1 // besides the one being taken
		require.LessOrEqual(t, waited, 8, "%d updates of 2 MiB waited for the subscriber at once", waited)
	})
}

// TestStatusUpdatesUnsentAtStop: updates still waiting for a subscriber
// when Klaxon stops are not sent, and the log says how many.
func TestStatusUpdatesUnsentAtStop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &stepped{tokens: make(chan struct{})} // takes none
		var logs syncbuf.Buffer
		u := notify.NewUpdates(nil, func(string) (notify.Channel, error) { return s, nil }, nil, slog.New(slog.NewTextHandler(&logs, nil)))
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() { done <- u.Run(ctx) }()
		for n := range 5 {
			u.Committed([]*klaxon.Incident{{ID: strconv.Itoa(n), Summary: "disk full",
				Policy:   klaxon.Policy{Subscribers: []string{"https://status.example.com/hooks/s3cret"}},
				Recorded: []klaxon.Event{{Kind: klaxon.EventTriggered, Alert: "am/" + strconv.Itoa(n)}}}})
			synctest.Wait()
		}
		cancel()
		require.NoError(t, <-done)
		require.Contains(t, logs.String(), `msg="status updates not sent: Klaxon is stopping" component=updates subscriber="a webhook" updates=4`,
			"one in flight, four waiting")
		require.NotContains(t, logs.String(), "s3cret")
	})
}
