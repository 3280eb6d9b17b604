package app

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/escalate"
	"github.com/klaxonhq/klaxon/notify/slack"
	"github.com/klaxonhq/klaxon/store/embedded"
	"github.com/klaxonhq/klaxon/store/redis"
)

// The stores remember Slack's callbacks, so that a replay is refused on
// every replica.
var (
	_ slack.Memory = (*embedded.Store)(nil)
	_ slack.Memory = (*redis.Store)(nil)
)

// chat is the Slack app of a config with notify.slack: the channel of
// via: slack, the sync of incidents' channel messages, and the callbacks
// of its buttons and command.
type chat struct {
	client    *slack.Slack
	sync      *slack.Sync
	callbacks http.Handler
}

// newChat builds the Slack app's client, nil without notify.slack;
// wire adds what acts through the engine.
func newChat(rt *runtime, st klaxon.IncidentReader, now func() time.Time) (*chat, error) {
	cfg := rt.cfg.Load()
	c := cfg.Notify.Slack
	if c == nil {
		return nil, nil
	}
	client, err := slack.New(slack.Options{BotToken: c.BotToken, SigningSecret: c.SigningSecret, APIURL: c.APIURL, PublicURL: cfg.PublicURL, Now: now,
		SlackID: func(id string) (string, bool) {
			u, ok := rt.User(id)
			return u.SlackID, ok && u.SlackID != ""
		},
		// A DM behind the times of deferred pages gives up those of
		// pages no longer wanted: their incidents acknowledged.
		Wanted: pageWanted(st)})
	if err != nil {
		return nil, fmt.Errorf("notify.slack: %w", err)
	}
	return &chat{client: client}, nil
}

// wire makes the sync of channel messages and the callbacks, which act
// through engine.
func (c *chat) wire(rt *runtime, st klaxon.Store, engine *escalate.Engine, now func() time.Time, log *slog.Logger, reg prometheus.Registerer) {
	memory, _ := st.(slack.Memory)
	apiURL := rt.cfg.Load().Notify.Slack.APIURL
	c.sync = slack.NewSync(c.client, engine, st, log, reg)
	c.callbacks = slack.NewCallbacks(slack.CallbackOptions{
		SigningSecret: func() string {
			if s := rt.cfg.Load().Notify.Slack; s != nil {
				return s.SigningSecret
			}
			return ""
		},
		Responder: responder{engine, rt, now}, Users: rt.bySlackID, Memory: memory, Now: now, Log: log,
		ResponseURLBase: apiBase(apiURL),
	})
}

// apiBase is the scheme and host of api_url (a test's fake Slack, or a
// proxy), whose response URLs answers may go to besides Slack's own; ""
// for Slack's own.
func apiBase(apiURL string) string {
	u, err := url.Parse(apiURL)
	if apiURL == "" || err != nil || u.Host == "" {
		return ""
	}
	return u.Scheme + "://" + u.Host + "/"
}

// responder acts for Slack's buttons and commands: the engine's acts and
// notes, and who is on call.
type responder struct {
	*escalate.Engine
	rt  *runtime
	now func() time.Time
}

// OnCall says who is on call now, in schedule or in every schedule.
func (r responder) OnCall(ctx context.Context, schedule string) (string, error) {
	v := r.rt.view()
	names := v.book.Names()
	if schedule != "" {
		if _, ok := v.book.Schedule(schedule); !ok {
			return "", fmt.Errorf("schedule %s: %w", schedule, klaxon.ErrNotFound)
		}
		names = []string{schedule}
	}
	if len(names) == 0 {
		return "No schedules.", nil
	}
	var lines []string
	for _, name := range names {
		users, err := v.book.OnCall(ctx, name, r.now())
		if err != nil {
			return "", err
		}
		who := strings.Join(users, ", ")
		if who == "" {
			who = "nobody"
		}
		lines = append(lines, name+": "+who)
	}
	return strings.Join(lines, "\n"), nil
}

// bySlackID returns the user whose Slack member ID is id.
func (rt *runtime) bySlackID(id string) (string, bool) {
	for _, u := range rt.cfg.Load().Users {
		if u.SlackID != "" && u.SlackID == id {
			return u.ID, true
		}
	}
	return "", false
}
