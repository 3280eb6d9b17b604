package slack_test

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/fakeclock"
	"github.com/klaxonhq/klaxon/internal/slacktest"
	"github.com/klaxonhq/klaxon/notify/slack"
)

// stored is the store's incidents as the sync reads and records them.
type stored struct {
	mu   sync.Mutex
	incs map[string]*klaxon.Incident
}

func (s *stored) put(inc *klaxon.Incident) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.incs[inc.ID] = inc.Header()
}

func (s *stored) Incident(_ context.Context, id string) (*klaxon.Incident, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.incs[id].Header(), nil
}

func (s *stored) SetChat(_ context.Context, id string, chat klaxon.Chat) (*klaxon.Incident, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.incs[id].Chat == nil {
		s.incs[id].Chat = &chat
	}
	return s.incs[id].Header(), nil
}

// runSync runs a sync of sl over st until the test ends.
func runSync(t *testing.T, sl *slack.Slack, st *stored) *slack.Sync {
	y, stop := startSync(sl, st)
	t.Cleanup(stop)
	return y
}

// startSync runs a sync until stop, which returns once it stopped: what
// Slack holds then is all it will hold.
func startSync(sl *slack.Slack, st *stored) (*slack.Sync, func()) {
	y := slack.NewSync(sl, st, st, slog.New(slog.DiscardHandler))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = y.Run(ctx) }()
	return y, sync.OnceFunc(func() { cancel(); <-done })
}

// change is inc as a commit wrote it, with the events it recorded.
func change(inc *klaxon.Incident, events ...klaxon.Event) []*klaxon.Incident {
	c := inc.Header()
	c.Policy.SlackChannel = channel
	c.Recorded = events
	return []*klaxon.Incident{c}
}

// TestSyncCatchesUp: a first post that Slack throttles is made once Slack
// answers, and shows the incident as it is then: acknowledged, with no
// Acknowledge button, and the ack in its thread.
func TestSyncCatchesUp(t *testing.T) {
	fake := slacktest.Start(t)
	sl := newSlack(t, fake, fakeclock.New(t0))
	st := &stored{incs: map[string]*klaxon.Incident{}}
	open := incident(klaxon.StateTriggered)
	open.Policy.SlackChannel = channel
	st.put(open)
	fake.RateLimit(1, time.Second)
	y, stop := startSync(sl, st)
	t.Cleanup(stop)

	y.Committed(change(open, klaxon.Event{At: t0, Kind: klaxon.EventTriggered, Alert: "am/1"}))
	acked := incident(klaxon.StateAcknowledged)
	acked.Policy.SlackChannel = channel
	st.put(acked)
	y.Committed(change(acked, klaxon.Event{At: t0, Kind: klaxon.EventAcknowledged, By: "alice", How: "sms"}))

	require.Eventually(t, func() bool {
		var posted, replied bool
		for _, m := range fake.Messages() {
			if m.ThreadTS == "" && strings.Contains(m.Blocks, "Acknowledged") && !strings.Contains(m.Blocks, slack.ActionAck) {
				posted = true
			}
			if m.ThreadTS != "" && strings.Contains(m.Text, "alice") {
				replied = true
			}
		}
		return posted && replied
	}, 10*time.Second, 10*time.Millisecond)
	stop() // nothing posts after the count
	var top int
	for _, m := range fake.Messages() {
		if m.ThreadTS == "" {
			top++
		}
	}
	require.Equal(t, 1, top, "one message")
	require.NotNil(t, st.incs["42"].Chat)
}

// TestSyncPostsOnceAcrossWriters: an incident whose message another
// replica posted already gets no second one: the sync reads it from the
// store and updates it.
func TestSyncPostsOnceAcrossWriters(t *testing.T) {
	fake := slacktest.Start(t)
	sl := newSlack(t, fake, fakeclock.New(t0))
	st := &stored{incs: map[string]*klaxon.Incident{}}
	inc := incident(klaxon.StateTriggered)
	inc.Policy.SlackChannel = channel
	chat, err := sl.Post(t.Context(), channel, inc, nil)
	require.NoError(t, err)
	inc.Chat = &chat
	st.put(inc)
	y := runSync(t, sl, st)

	committed := inc.Header()
	committed.Chat = nil // the commit's header was read before the message was recorded
	y.Committed(change(committed, klaxon.Event{At: t0, Kind: klaxon.EventNote, By: "bob", Text: "looking"}))
	require.Eventually(t, func() bool {
		for _, m := range fake.Messages() {
			if m.ThreadTS == chat.TS && strings.Contains(m.Text, "looking") {
				return true
			}
		}
		return false
	}, 10*time.Second, 10*time.Millisecond)
	require.Len(t, fake.Messages(), 2, "the message and its reply")
}
