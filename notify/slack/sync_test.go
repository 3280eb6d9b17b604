package slack_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/fakeclock"
	"github.com/klaxonhq/klaxon/internal/slacktest"
	"github.com/klaxonhq/klaxon/notify/slack"
)

// stored is the store's incidents as the sync reads and records them.
// Its hooks, set before a sync starts, run without its lock held.
type stored struct {
	mu    sync.Mutex
	incs  map[string]*klaxon.Incident
	reads int
	// afterRead runs after each Incident read, numbered from 1; an error
	// it returns is the read's.
	afterRead func(n int) error
	// beforeSetChat runs once, at the next SetChat, before it records.
	beforeSetChat func()
}

func (s *stored) put(inc *klaxon.Incident) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.incs[inc.ID] = inc.Header()
}

func (s *stored) Incident(_ context.Context, id string) (*klaxon.Incident, error) {
	s.mu.Lock()
	s.reads++
	n, inc, hook := s.reads, s.incs[id].Header(), s.afterRead
	s.mu.Unlock()
	if hook != nil {
		if err := hook(n); err != nil {
			return nil, err
		}
	}
	return inc, nil
}

func (s *stored) SetChat(_ context.Context, id string, chat klaxon.Chat) (*klaxon.Incident, error) {
	s.mu.Lock()
	hook := s.beforeSetChat
	s.beforeSetChat = nil
	s.mu.Unlock()
	if hook != nil {
		hook()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.incs[id].Chat == nil {
		s.incs[id].Chat = &chat
	}
	return s.incs[id].Header(), nil
}

// chat is where incident id's message is recorded, nil for nowhere.
func (s *stored) chat(id string) *klaxon.Chat {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.incs[id].Header().Chat
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
	y := slack.NewSync(sl, st, st, slog.New(slog.DiscardHandler), nil)
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
	st := newStored()
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
	st := newStored()
	inc, chat := posted(t, sl, klaxon.StateTriggered)
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

// TestSyncShowsStoredState: a change handled after a later one (a walk
// commit queued before an ack, a replica's backed-up sync) does not put
// the message back: it shows the incident as stored, acknowledged and
// without its Acknowledge button, while the stale change's event is
// still replied in the thread.
func TestSyncShowsStoredState(t *testing.T) {
	fake, walk, acked, chat, y, stop := ackedSinceMessage(t)

	y.Committed(change(acked, klaxon.Event{At: t0, Kind: klaxon.EventAcknowledged, By: "alice", How: "sms"}))
	y.Committed(change(walk, klaxon.Event{At: t0, Kind: klaxon.EventEscalated, Text: "paging bob"}))
	require.Eventually(t, func() bool { return replied(fake, chat.TS, "paging bob") }, 10*time.Second, 10*time.Millisecond)
	stop()

	m := fake.Messages()[0]
	require.Equal(t, chat.TS, m.TS)
	require.Equal(t, "#42 CRITICAL 5xx ratio above 5%: acknowledged by alice", m.Text)
	require.Equal(t, []string{"klaxon_resolve=42", "klaxon_escalate=42@0.0.0"}, buttonsOf(blocksOf(t, m)))
	require.True(t, replied(fake, chat.TS, "alice"), "the ack in the thread")
}

// TestSyncUnsure: a commit that acknowledged the incident failed, and may
// have landed: the message is read again and shows the incident as
// stored, with no reply in its thread of events that may not have
// happened.
func TestSyncUnsure(t *testing.T) {
	fake, _, acked, _, y, stop := ackedSinceMessage(t)

	y.Unsure(change(acked, klaxon.Event{At: t0, Kind: klaxon.EventAcknowledged, By: "alice", How: "sms"}))
	require.Eventually(t, func() bool { return fake.Messages()[0].Updates > 0 }, 10*time.Second, 10*time.Millisecond)
	stop()

	msgs := fake.Messages()
	require.Len(t, msgs, 1, "no reply in the thread")
	require.Equal(t, "#42 CRITICAL 5xx ratio above 5%: acknowledged by alice", msgs[0].Text)
	require.Equal(t, []string{"klaxon_resolve=42", "klaxon_escalate=42@0.0.0"}, buttonsOf(blocksOf(t, msgs[0])))
}

// ackedSinceMessage posts the message of an incident triggered (walk),
// stores it acknowledged since (acked), and starts a sync of both. It
// returns the fake Slack, the incidents, where the message is, and the
// sync with what stops it.
func ackedSinceMessage(t *testing.T) (fake *slacktest.Server, walk, acked *klaxon.Incident, chat klaxon.Chat, y *slack.Sync, stop func()) {
	fake = slacktest.Start(t)
	sl := newSlack(t, fake, fakeclock.New(t0))
	st := newStored()
	walk, chat = posted(t, sl, klaxon.StateTriggered)
	acked = incident(klaxon.StateAcknowledged)
	acked.Policy.SlackChannel = channel
	acked.Chat = &chat
	st.put(acked)
	y, stop = startSync(sl, st)
	t.Cleanup(stop)
	return fake, walk, acked, chat, y, stop
}

// newStored is a store of no incident.
func newStored() *stored { return &stored{incs: map[string]*klaxon.Incident{}} }

// posted returns an incident in state, of a policy with a channel, whose
// message sl posted there, and where the message is.
func posted(t *testing.T, sl *slack.Slack, state klaxon.State) (*klaxon.Incident, klaxon.Chat) {
	t.Helper()
	inc := incident(state)
	inc.Policy.SlackChannel = channel
	chat, err := sl.Post(t.Context(), channel, inc, nil)
	require.NoError(t, err)
	inc.Chat = &chat
	return inc, chat
}

// replied reports whether the fake holds a reply to ts that says text.
func replied(fake *slacktest.Server, ts, text string) bool {
	for _, m := range fake.Messages() {
		if m.ThreadTS == ts && strings.Contains(m.Text, text) {
			return true
		}
	}
	return false
}

// TestSyncWaitsOutStore: while the store cannot be read, the sync sends
// nothing, rather than the state of the change it holds, which may be
// stale; it tries again after its backoff, with the incident as stored
// then, and replies the change's event.
func TestSyncWaitsOutStore(t *testing.T) {
	fake := slacktest.Start(t)
	synctest.Test(t, func(t *testing.T) {
		sl := newSlack(t, fake, fakeclock.New(t0), func(o *slack.Options) { o.Now, o.HTTPClient = time.Now, fake.Client() })
		walk, chat := posted(t, sl, klaxon.StateTriggered)
		acked := incident(klaxon.StateAcknowledged)
		acked.Chat = &chat
		st := &stored{incs: map[string]*klaxon.Incident{}, afterRead: func(n int) error {
			if n == 1 {
				return fmt.Errorf("redis: connection refused: %w", klaxon.ErrUnavailable)
			}
			return nil
		}}
		st.put(acked)
		y, stop := startSync(sl, st)
		defer stop()

		y.Committed(change(walk, klaxon.Event{At: t0, Kind: klaxon.EventEscalated, Text: "paging bob"}))
		synctest.Wait()
		require.Zero(t, fake.Messages()[0].Updates, "nothing sent while the store is down")
		require.False(t, replied(fake, chat.TS, "paging bob"))

		time.Sleep(5 * time.Second) // the sync's backoff
		synctest.Wait()
		require.Equal(t, "#42 CRITICAL 5xx ratio above 5%: acknowledged by alice", fake.Messages()[0].Text)
		require.True(t, replied(fake, chat.TS, "paging bob"))
	})
}

// TestSyncRechecksAcrossReplicas: another replica's sync shows an ack
// that landed after this sync read the incident, and this sync's update,
// drawn from that read, overwrites it; the sync reads the incident again
// after its update and puts the ack back.
func TestSyncRechecksAcrossReplicas(t *testing.T) {
	fake := slacktest.Start(t)
	sl := newSlack(t, fake, fakeclock.New(t0))
	walk, chat := posted(t, sl, klaxon.StateTriggered)
	acked := incident(klaxon.StateAcknowledged)
	acked.Chat = &chat
	st := newStored()
	st.afterRead = func(n int) error {
		if n == 1 { // the other replica's ack, and its sync's update
			st.put(acked)
			return sl.Update(context.Background(), chat.Channel, chat.TS, acked, nil)
		}
		return nil
	}
	st.put(walk)
	y, stop := startSync(sl, st)
	t.Cleanup(stop)

	y.Committed(change(walk, klaxon.Event{At: t0, Kind: klaxon.EventEscalated, Text: "paging bob"}))
	require.Eventually(t, func() bool {
		return replied(fake, chat.TS, "paging bob") && strings.HasSuffix(fake.Messages()[0].Text, "acknowledged by alice")
	}, 10*time.Second, 10*time.Millisecond)
	stop()
	require.Equal(t, "#42 CRITICAL 5xx ratio above 5%: acknowledged by alice", fake.Messages()[0].Text)
}

// TestSyncLosesFirstPost: two replicas post an incident's first message
// at once; the one whose message the store did not record deletes its
// own, updates the other's, and replies in its thread: the channel shows
// one message.
func TestSyncLosesFirstPost(t *testing.T) {
	fake := slacktest.Start(t)
	sl := newSlack(t, fake, fakeclock.New(t0))
	open := incident(klaxon.StateTriggered)
	open.Policy.SlackChannel = channel
	st := newStored()
	st.put(open)
	st.beforeSetChat = func() { // the other replica posted too, and records first
		other, err := sl.Post(context.Background(), channel, open, nil)
		if err == nil {
			_, err = st.SetChat(context.Background(), open.ID, other)
		}
		if err != nil {
			t.Error(err)
		}
	}
	y, stop := startSync(sl, st)
	t.Cleanup(stop)

	y.Committed(change(open, klaxon.Event{At: t0, Kind: klaxon.EventNote, By: "bob", Text: "looking"}))
	require.Eventually(t, func() bool {
		winner := st.chat(open.ID)
		return winner != nil && replied(fake, winner.TS, "looking")
	}, 10*time.Second, 10*time.Millisecond)
	stop()
	winner := st.chat(open.ID)
	var top []string
	for _, m := range fake.Messages() {
		if m.ThreadTS == "" {
			top = append(top, m.TS)
		}
	}
	require.Equal(t, []string{winner.TS}, top, "the recorded message only")
	var deleted int
	for _, c := range fake.Calls() {
		if c.Method == "chat.delete" {
			require.NotEqual(t, winner.TS, c.Form.Get("ts"))
			deleted++
		}
	}
	require.Equal(t, 1, deleted, "its own message")
}
