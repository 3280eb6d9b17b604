package notify_test

import (
	"context"
	"log/slog"
	"strconv"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/notify"
)

// statusPage is a subscriber's receiver that takes took to answer each
// update, and records them.
type statusPage struct {
	took time.Duration

	mu  sync.Mutex
	got []string // the incidents of the updates, in order
}

func (s *statusPage) Send(_ context.Context, p klaxon.Page) error {
	time.Sleep(s.took)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.got = append(s.got, p.Incident)
	return nil
}

// TestStatusUpdatesStorm: a storm opens 200 incidents of a policy with a
// subscriber, whose status page answers each update in 20 ms: it is not
// slow, and takes the 200 in 4 s. Updates are "best effort" and "a crash
// just then loses one" (README); here nothing crashed, yet the updates
// past the first 65 are dropped as "the subscriber is slow": a queue of
// 64 a subscriber fills in the instant a storm's commits land (of 2,000
// incidents opened against the real binary, a subscriber answering at
// once missed 609 openings).
func TestStatusUpdatesStorm(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		page := &statusPage{took: 20 * time.Millisecond}
		u := notify.NewUpdates(nil, func(string) (notify.Channel, error) { return page, nil }, nil, slog.New(slog.DiscardHandler))
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() { done <- u.Run(ctx) }()

		const storm = 200
		for i := range storm {
			u.Committed([]*klaxon.Incident{{ID: strconv.Itoa(i + 1), Summary: "db down",
				Policy:   klaxon.Policy{Subscribers: []string{"https://status.example.com/hooks/klaxon"}},
				Recorded: []klaxon.Event{{Kind: klaxon.EventTriggered, Alert: "am/" + strconv.Itoa(i)}}}})
		}
		time.Sleep(time.Minute)
		synctest.Wait()
		cancel()
		require.NoError(t, <-done)

		page.mu.Lock()
		defer page.mu.Unlock()
		require.Equal(t, storm, len(page.got), "updates the subscriber got")
	})
}

// TestStatusUpdatesBoundedBySubscriber: updates waiting for a subscriber
// that takes none are bounded by their size (16 MiB), not kept without
// bound: of 40 updates of 1 MiB summaries (2 MiB each, with the text that
// names the summary), those that fit, the one in flight among them, are
// sent once it takes them again, the others dropped.
func TestStatusUpdatesBoundedBySubscriber(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := &stepped{tokens: make(chan struct{})} // closed, it takes every update
		u := notify.NewUpdates(nil, func(string) (notify.Channel, error) { return h, nil }, nil, slog.New(slog.DiscardHandler))
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() { done <- u.Run(ctx) }()

		summary := string(make([]byte, 1<<20))
		for i := range 40 {
			u.Committed([]*klaxon.Incident{{ID: strconv.Itoa(i + 1), Summary: summary,
				Policy:   klaxon.Policy{Subscribers: []string{"https://status.example.com/hooks/klaxon"}},
				Recorded: []klaxon.Event{{Kind: klaxon.EventTriggered, Alert: "am/" + strconv.Itoa(i)}}}})
			synctest.Wait()
		}
		close(h.tokens)
		synctest.Wait()
		cancel()
		require.NoError(t, <-done)

		require.Equal(t, 7, h.sent(), "the 7 updates of 2 MiB that 16 MiB holds, the one in flight among them")
	})
}
