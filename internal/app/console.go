package app

import (
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/config"
	"github.com/klaxonhq/klaxon/internal/authlimit"
	"github.com/klaxonhq/klaxon/schedule"
	"github.com/klaxonhq/klaxon/web"
)

var (
	_ web.Tokens = (*runtime)(nil)
	_ web.View   = view{}
)

// newConsole builds the web console over the runtime's config. Its
// sessions are signed with a key derived from the config's secret, so
// that every replica reads every session; without a secret the key is
// random, and sessions end with the process.
func newConsole(rt *runtime, st klaxon.Store, commands web.Commander, limiter *authlimit.Limiter, now func() time.Time, log *slog.Logger) (*web.Console, error) {
	var key []byte
	if secret := rt.cfg.Load().Secret; secret != "" {
		h := hmac.New(sha256.New, []byte(secret))
		h.Write([]byte("klaxon web console sessions"))
		key = h.Sum(nil)
	} else {
		log.Warn("no secret in the config: web console sessions end when klaxon stops, and replicas do not share them")
	}
	signedOut, _ := st.(web.SignOuts)
	return web.New(web.Options{Incidents: st, Commands: commands, Tokens: rt, Overrides: st, Key: key, Limiter: limiter, Now: now, Log: log, SignedOut: signedOut,
		View:        func() web.View { return rt.view() },
		MaxOverride: func() time.Duration { return rt.cfg.Load().API.OverrideBound() },
		// public_url is read once: a reload does not change it.
		Secure: strings.HasPrefix(strings.ToLower(rt.cfg.Load().PublicURL), "https://")})
}

// SignIn returns who token signs in to the console as: an API token, or
// a user's web token (scope act).
func (rt *runtime) SignIn(token string) (web.Identity, bool) {
	cfg := rt.cfg.Load()
	if t, ok := cfg.APIToken(token); ok {
		return tokenIdentity(t), true
	}
	if id, ok := cfg.WebToken(token); ok {
		return userIdentity(cfg.Users[id]), true
	}
	return web.Identity{}, false
}

// Current returns a console identity as the config has it now, with the
// token it signs in with.
func (rt *runtime) Current(kind, name string) (web.Identity, string, bool) {
	cfg := rt.cfg.Load()
	switch kind {
	case web.KindToken:
		for _, t := range cfg.API.Tokens {
			if t.Name == name {
				return tokenIdentity(t), t.Token, true
			}
		}
	case web.KindUser:
		for _, t := range cfg.WebTokens {
			if u, ok := cfg.Users[t.User]; ok && t.User == name {
				return userIdentity(u), t.Token, true
			}
		}
	}
	return web.Identity{}, "", false
}

func tokenIdentity(t config.Token) web.Identity {
	return web.Identity{Kind: web.KindToken, Name: t.Name, Display: t.Name, Scope: t.Scope()}
}

func userIdentity(u klaxon.User) web.Identity {
	return web.Identity{Kind: web.KindUser, Name: u.ID, Display: cmp.Or(u.Name, u.ID), Scope: klaxon.ScopeAct}
}

// Users lists the users, by ID.
func (v view) Users() []klaxon.User {
	return slices.SortedFunc(maps.Values(v.cfg.Users), func(a, b klaxon.User) int { return strings.Compare(a.ID, b.ID) })
}

// Policies lists the policies, by name.
func (v view) Policies() []klaxon.Policy {
	return slices.SortedFunc(maps.Values(v.cfg.Policies), func(a, b klaxon.Policy) int { return strings.Compare(a.Name, b.Name) })
}

// Names lists the schedules.
func (v view) Names() []string { return v.book.Names() }

// Schedule returns a schedule.
func (v view) Schedule(name string) (*schedule.Schedule, bool) { return v.book.Schedule(name) }

// Timeline returns a schedule's layers, overrides and final shifts in
// [from, to).
func (v view) Timeline(ctx context.Context, name string, from, to time.Time) (schedule.Timeline, error) {
	return v.book.Timeline(ctx, name, from, to)
}
