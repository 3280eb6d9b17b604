package slack_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/fakeclock"
	"github.com/klaxonhq/klaxon/internal/slacktest"
	"github.com/klaxonhq/klaxon/notify/slack"
)

// responder records what the callbacks ask of Klaxon, and answers with
// err when it is set.
type responder struct {
	mu     sync.Mutex
	acts   []string // "ack 42 by alice via slack"
	notes  []string // "42 by alice via slack: text"
	asked  []string // schedules OnCall was asked about
	err    error
	oncall string
}

var _ slack.Responder = (*responder)(nil)

func (r *responder) Act(_ context.Context, a klaxon.Action, id string, who klaxon.Actor) (*klaxon.Incident, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.acts = append(r.acts, fmt.Sprintf("%s %s by %s via %s", a, id, who.By, who.How))
	if r.err != nil {
		return nil, r.err
	}
	return &klaxon.Incident{ID: id, Summary: "payments is down", Labels: map[string]string{"service": "payments"}}, nil
}

func (r *responder) Note(_ context.Context, id, text string, update bool, who klaxon.Actor) (*klaxon.Incident, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.notes = append(r.notes, fmt.Sprintf("%s by %s via %s (update %t): %s", id, who.By, who.How, update, text))
	if r.err != nil {
		return nil, r.err
	}
	return &klaxon.Incident{ID: id, Summary: "payments is down", Labels: map[string]string{"service": "payments"}}, nil
}

func (r *responder) OnCall(_ context.Context, schedule string) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.asked = append(r.asked, schedule)
	if schedule == "nope" {
		return "", fmt.Errorf("schedule nope: %w", klaxon.ErrNotFound)
	}
	return r.oncall, r.err
}

func (r *responder) Acts() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.acts...)
}

// memory is a Memory in a map, which fails while down is set.
type memory struct {
	mu   sync.Mutex
	seen map[string]time.Time
	down atomic.Bool
}

func (m *memory) FirstTime(_ context.Context, key string, now time.Time, ttl time.Duration) (bool, error) {
	if m.down.Load() {
		return false, fmt.Errorf("first time: connection refused: %w", klaxon.ErrUnavailable)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if until, ok := m.seen[key]; ok && now.Before(until) {
		return false, nil
	}
	m.seen[key] = now.Add(ttl)
	return true, nil
}

// rig is Slack's callbacks served on loopback, on a fake clock, acting
// through a recording responder; alice (U0ALICE) is a Klaxon user,
// mallory (U0MALLORY) is not.
type rig struct {
	slack     *slacktest.Server
	clock     *fakeclock.Clock
	responder *responder
	memory    *memory
	secret    atomic.Pointer[string]
	base      string
}

func newRig(t *testing.T) *rig {
	t.Helper()
	r := &rig{slack: slacktest.Start(t), clock: fakeclock.New(t0), responder: &responder{oncall: "payments-primary: alice"},
		memory: &memory{seen: map[string]time.Time{}}}
	r.secret.Store(&r.slack.SigningSecret)
	users := map[string]string{"U0ALICE": "alice"}
	srv := httptest.NewServer(slack.NewCallbacks(slack.CallbackOptions{
		SigningSecret:   func() string { return *r.secret.Load() },
		Responder:       r.responder,
		Users:           func(id string) (string, bool) { u, ok := users[id]; return u, ok },
		Memory:          r.memory,
		ResponseURLBase: r.slack.ResponseURL(""),
		Now:             r.clock.Now,
		Log:             slog.New(slog.DiscardHandler),
	}))
	t.Cleanup(srv.Close)
	r.base = srv.URL
	return r
}

// pressAt presses button action of incident id as slackUser, signed at at.
func (r *rig) pressAt(t *testing.T, slackUser, action, id string, at time.Time) slacktest.Answer {
	t.Helper()
	return slacktest.Do(t, slacktest.Interaction(t, r.base+slack.InteractionsPath, r.slack.SigningSecret, at, slacktest.Press{
		UserID: slackUser, ActionID: action, Value: id, Channel: channel, MessageTS: "1767225600.000001",
		ResponseURL: r.slack.ResponseURL(slackUser + "-" + action)}))
}

// press presses button action of incident id as slackUser, now.
func (r *rig) press(t *testing.T, slackUser, action, id string) slacktest.Answer {
	t.Helper()
	return r.pressAt(t, slackUser, action, id, r.clock.Now())
}

// command types /klaxon text as slackUser, now.
func (r *rig) command(t *testing.T, slackUser, text string) slacktest.Answer {
	t.Helper()
	return slacktest.Do(t, slacktest.SlashCommand(t, r.base+slack.CommandsPath, r.slack.SigningSecret, r.clock.Now(),
		slacktest.Command{UserID: slackUser, Text: text, ChannelID: channel, ResponseURL: r.slack.ResponseURL("cmd")}))
}
