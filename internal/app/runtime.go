package app

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/api"
	"github.com/klaxonhq/klaxon/config"
	"github.com/klaxonhq/klaxon/escalate"
	"github.com/klaxonhq/klaxon/ingest"
	"github.com/klaxonhq/klaxon/notify/twilio"
	"github.com/klaxonhq/klaxon/route"
	"github.com/klaxonhq/klaxon/schedule"
)

// runtime answers, from the current config, the questions the components
// ask: which routing table is current, who a user is, whose token this is.
type runtime struct {
	cfg       atomic.Pointer[config.Config]
	overrides klaxon.OverrideStore
}

var (
	_ ingest.Router      = (*route.Table)(nil)
	_ escalate.Directory = view{}
	_ api.Tokens         = (*runtime)(nil)
	_ api.Schedules      = (*runtime)(nil)
	_ twilio.Phonebook   = (*runtime)(nil)
)

func newRuntime(cfg *config.Config, overrides klaxon.OverrideStore) *runtime {
	rt := &runtime{overrides: overrides}
	rt.cfg.Store(cfg)
	return rt
}

// view is one config, so that a delivery or an escalation sees one
// config throughout.
type view struct {
	cfg  *config.Config
	book *schedule.Book
}

func (rt *runtime) view() view {
	cfg := rt.cfg.Load()
	book := schedule.NewBook(cfg.Schedules, rt.overrides).KnownUsers(func(id string) bool {
		_, ok := cfg.Users[id]
		return ok
	})
	return view{cfg, book}
}
func (rt *runtime) router() ingest.Router         { return rt.cfg.Load().Table }
func (rt *runtime) directory() escalate.Directory { return rt.view() }

// User returns the user with id.
func (v view) User(id string) (klaxon.User, bool) {
	u, ok := v.cfg.Users[id]
	return u, ok
}

// OnCall returns who is on call in schedule at t, runtime overrides
// included.
func (v view) OnCall(ctx context.Context, name string, t time.Time) ([]string, error) {
	return v.book.OnCall(ctx, name, t)
}

// Fallback returns the users paged when a policy reached nobody.
func (v view) Fallback() []string { return v.cfg.Fallback }

// Schedule returns a schedule of the current config.
func (rt *runtime) Schedule(name string) (*schedule.Schedule, bool) {
	return rt.view().book.Schedule(name)
}

// Names lists the schedules, sorted.
func (rt *runtime) Names() []string { return rt.view().book.Names() }

func (rt *runtime) User(id string) (klaxon.User, bool) { return rt.view().User(id) }
func (rt *runtime) OnCall(ctx context.Context, name string, t time.Time) ([]string, error) {
	return rt.view().book.OnCall(ctx, name, t)
}
func (rt *runtime) Shifts(ctx context.Context, name string, from, to time.Time) ([]schedule.Shift, error) {
	return rt.view().book.Shifts(ctx, name, from, to)
}

// UserByPhone returns the user whose phone is phone.
func (rt *runtime) UserByPhone(phone string) (klaxon.User, bool) {
	return rt.cfg.Load().UserByPhone(phone)
}

// twilioAuth is what checks Twilio's callbacks, nil without Twilio.
func (rt *runtime) twilioAuth() *twilio.CallbackAuth {
	c := rt.cfg.Load()
	if c.Notify.Twilio == nil {
		return nil
	}
	return &twilio.CallbackAuth{AuthToken: c.Notify.Twilio.AuthToken, PublicURL: c.PublicURL}
}

// Integration returns the integration of type kind with token.
func (rt *runtime) Integration(kind, token string) (string, bool) {
	in, ok := rt.cfg.Load().IntegrationToken(kind, token)
	return in.Name, ok
}

// Caller returns the API token token.
func (rt *runtime) Caller(token string) (api.Caller, bool) {
	t, ok := rt.cfg.Load().APIToken(token)
	if !ok {
		return api.Caller{}, false
	}
	return api.Caller{Name: t.Name, Scope: t.Scope(), ActAs: t.ActAs}, true
}

// Feed returns the feed token token and its schedule.
func (rt *runtime) Feed(token string) (name, schedule string, ok bool) {
	t, ok := rt.cfg.Load().FeedToken(token)
	return t.Name, t.Schedule, ok
}

// heartbeat returns the heartbeat integration called name.
func (rt *runtime) heartbeat(name string) (ingest.Heartbeat, bool) {
	in, ok := rt.cfg.Load().HeartbeatNamed(name)
	if !ok {
		return ingest.Heartbeat{}, false
	}
	interval, grace := in.Heartbeat()
	return ingest.Heartbeat{Interval: interval, Grace: grace, Labels: in.Labels}, true
}
