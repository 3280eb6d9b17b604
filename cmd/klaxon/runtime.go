package main

import (
	"context"
	"crypto/subtle"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/api"
	"github.com/klaxonhq/klaxon/config"
	"github.com/klaxonhq/klaxon/escalate"
	"github.com/klaxonhq/klaxon/incident"
	"github.com/klaxonhq/klaxon/ingest"
)

// runtime answers, from the current config, the questions the components
// ask: where an alert goes, who a user is, whose token this is.
type runtime struct {
	cfg atomic.Pointer[config.Config]
}

var (
	_ ingest.Router      = view{}
	_ escalate.Directory = view{}
	_ api.Tokens         = (*runtime)(nil)
)

func newRuntime(cfg *config.Config) *runtime {
	rt := &runtime{}
	rt.cfg.Store(cfg)
	return rt
}

// view is one config, so that a delivery or an escalation sees one
// config throughout.
type view struct{ cfg *config.Config }

func (rt *runtime) router() ingest.Router         { return view{rt.cfg.Load()} }
func (rt *runtime) directory() escalate.Directory { return view{rt.cfg.Load()} }

// Route finds the alert's route, its group and its policy.
func (v view) Route(labels map[string]string) (incident.Template, error) {
	r := v.cfg.Route.Match(labels)
	p, ok := v.cfg.Policies[r.Policy]
	if !ok {
		return incident.Template{}, fmt.Errorf("route %s: no policy %q", r.ID, r.Policy)
	}
	return incident.Template{Group: r.GroupKey(labels), Labels: r.GroupLabels(labels), Policy: p}, nil
}

// User returns the user with id.
func (v view) User(id string) (klaxon.User, bool) {
	u, ok := v.cfg.Users[id]
	return u, ok
}

// OnCall resolves a schedule target.
func (v view) OnCall(_ context.Context, schedule string, _ time.Time) ([]string, error) {
	return nil, fmt.Errorf("schedule %s: %w", schedule, klaxon.ErrNotFound)
}

// Integration returns the integration of type kind with token.
func (rt *runtime) Integration(kind, token string) (string, bool) {
	if token == "" {
		return "", false
	}
	for _, in := range rt.cfg.Load().Integrations {
		if in.Type == kind && equal(in.Token, token) {
			return in.Name, true
		}
	}
	return "", false
}

// Caller returns the name of the API token.
func (rt *runtime) Caller(token string) (string, bool) {
	if token == "" {
		return "", false
	}
	for _, t := range rt.cfg.Load().API.Tokens {
		if equal(t.Token, token) {
			return t.Name, true
		}
	}
	return "", false
}

func equal(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }
