package main

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync/atomic"
	"time"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/api"
	"github.com/klaxonhq/klaxon/config"
	"github.com/klaxonhq/klaxon/escalate"
	"github.com/klaxonhq/klaxon/incident"
	"github.com/klaxonhq/klaxon/ingest"
	"github.com/klaxonhq/klaxon/schedule"
)

// runtime answers, from the current config, the questions the components
// ask: where an alert goes, who a user is, whose token this is.
type runtime struct {
	cfg       atomic.Pointer[config.Config]
	overrides klaxon.OverrideStore
}

var (
	_ ingest.Router      = view{}
	_ escalate.Directory = view{}
	_ api.Tokens         = (*runtime)(nil)
	_ api.Schedules      = (*runtime)(nil)
	_ api.Phonebook      = (*runtime)(nil)
)

func newRuntime(cfg *config.Config, overrides klaxon.OverrideStore) *runtime {
	rt := &runtime{overrides: overrides}
	rt.cfg.Store(cfg)
	return rt
}

// view is one config, so that a delivery or an escalation sees one
// config throughout.
type view struct {
	cfg       *config.Config
	overrides klaxon.OverrideStore
}

func (rt *runtime) view() view                    { return view{rt.cfg.Load(), rt.overrides} }
func (rt *runtime) router() ingest.Router         { return rt.view() }
func (rt *runtime) directory() escalate.Directory { return rt.view() }

// Labels are the labels integration adds to its alerts.
func (v view) Labels(integration string) map[string]string {
	in, _ := v.cfg.Integration(integration)
	return in.Labels
}

// Group finds the alert's route and its group.
func (v view) Group(a *klaxon.Alert) (string, error) {
	return v.cfg.Route.Match(a.Labels).GroupKey(a.Labels, a.Key), nil
}

// Route finds the alert's route, its group and its policy.
func (v view) Route(a *klaxon.Alert) (incident.Template, error) {
	r := v.cfg.Route.Match(a.Labels)
	p, ok := v.cfg.Policies[r.Policy]
	if !ok {
		return incident.Template{}, fmt.Errorf("route %s: no policy %q", r.ID, r.Policy)
	}
	return incident.Template{Group: r.GroupKey(a.Labels, a.Key), Labels: r.GroupLabels(a.Labels), Policy: p, Urgency: klaxon.Urgency(r.Urgency)}, nil
}

// User returns the user with id.
func (v view) User(id string) (klaxon.User, bool) {
	u, ok := v.cfg.Users[id]
	return u, ok
}

// OnCall returns who is on call in schedule at t, runtime overrides
// included.
func (v view) OnCall(ctx context.Context, name string, t time.Time) ([]string, error) {
	s, extra, err := v.schedule(ctx, name, t)
	if err != nil {
		return nil, err
	}
	return s.OnCall(t, extra...), nil
}

// Fallback returns the users paged when a policy reached nobody.
func (v view) Fallback() []string { return v.cfg.Fallback }

// Shifts returns the final on-call shifts of schedule in [from, to).
func (v view) Shifts(ctx context.Context, name string, from, to time.Time) ([]schedule.Shift, error) {
	s, extra, err := v.schedule(ctx, name, from)
	if err != nil {
		return nil, err
	}
	return s.Shifts(from, to, extra...), nil
}

// schedule returns a schedule and its runtime overrides not ended at t.
func (v view) schedule(ctx context.Context, name string, t time.Time) (*schedule.Schedule, []schedule.Override, error) {
	s, ok := v.cfg.Schedules[name]
	if !ok {
		return nil, nil, fmt.Errorf("schedule %s: %w", name, klaxon.ErrNotFound)
	}
	ovs, err := v.overrides.Overrides(ctx, name, t)
	if err != nil {
		return nil, nil, fmt.Errorf("schedule %s: %w", name, err)
	}
	extra := make([]schedule.Override, len(ovs))
	for i, o := range ovs {
		extra[i] = schedule.Override{User: o.User, From: o.From, To: o.To}
	}
	return s, extra, nil
}

// Schedule returns a schedule of the current config.
func (rt *runtime) Schedule(name string) (*schedule.Schedule, bool) {
	s, ok := rt.cfg.Load().Schedules[name]
	return s, ok
}

// Names lists the schedules, sorted.
func (rt *runtime) Names() []string {
	return slices.Sorted(maps.Keys(rt.cfg.Load().Schedules))
}

func (rt *runtime) User(id string) (klaxon.User, bool) { return rt.view().User(id) }
func (rt *runtime) OnCall(ctx context.Context, name string, t time.Time) ([]string, error) {
	return rt.view().OnCall(ctx, name, t)
}
func (rt *runtime) Shifts(ctx context.Context, name string, from, to time.Time) ([]schedule.Shift, error) {
	return rt.view().Shifts(ctx, name, from, to)
}

// UserByPhone returns the user whose phone is phone.
func (rt *runtime) UserByPhone(phone string) (klaxon.User, bool) {
	if phone == "" {
		return klaxon.User{}, false
	}
	for _, u := range rt.cfg.Load().Users {
		if u.Phone == phone {
			return u, true
		}
	}
	return klaxon.User{}, false
}

// twilioAuth is what checks Twilio's callbacks, nil without Twilio.
func (rt *runtime) twilioAuth() *api.TwilioAuth {
	c := rt.cfg.Load()
	if c.Notify.Twilio == nil {
		return nil
	}
	return &api.TwilioAuth{AuthToken: c.Notify.Twilio.AuthToken, PublicURL: c.PublicURL}
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
