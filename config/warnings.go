package config

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/schedule"
)

// Warning is a problem that does not stop Klaxon from running, like a
// stretch of time in which a schedule has nobody on call.
type Warning struct {
	// File is the file as the user named it, like Error's.
	File string
	// Path is the key path in File; empty for the file as a whole.
	Path string
	Msg  string
}

// String returns "FILE: PATH: MSG", leaving out an empty FILE or PATH, as
// Error does.
func (w Warning) String() string {
	return (&Error{File: w.File, Path: w.Path, Msg: w.Msg}).Error()
}

// GapWindow is how far ahead of now Warnings looks for coverage gaps.
const GapWindow = 4 * 7 * 24 * time.Hour

// maxGapWarnings bounds the gap warnings of one schedule; the rest are
// counted in one more.
const maxGapWarnings = 10

// Warnings returns what is valid but likely wrong in c, in a fixed order
// for a given now:
//
//   - for each route, in the file's order, that no alert can take, then
//     each matcher of a route, then of a maintenance window, that only
//     Alertmanager's classic parser reads;
//   - for each schedule, by name, every gap in its coverage in
//     [now, now+GapWindow), up to maxGapWarnings, then how many more;
//   - for each policy, by name, that would page nobody at now because
//     each of its targets is a schedule with nobody on call;
//   - for each notification rule, in the users file's order, whose
//     channel is not configured, so that the console stands in for it;
//   - for each API token, in the file's order, that does not say its
//     scopes, and so may do everything;
//   - store.redis without a secret;
//   - for each token (API, integration, feed, metrics), in the file's
//     order, shorter than minWebToken: it can be guessed;
//   - what the listeners expose, or fail to serve (see listenWarnings).
func (c *Config) Warnings(now time.Time) []Warning {
	var ws []Warning
	if c.Route != nil {
		names := make([]string, 0, len(c.Integrations))
		for _, in := range c.Integrations {
			names = append(names, in.Name)
		}
		for _, u := range c.Route.Unreachable(names) {
			ws = append(ws, Warning{File: c.file, Path: u.Path, Msg: u.Why})
		}
		for _, m := range c.Route.ClassicMatchers() {
			ws = append(ws, Warning{File: c.file, Path: m.Path, Msg: m.Warning()})
		}
	}
	for _, w := range c.Maintenance {
		for _, m := range w.ClassicMatchers() {
			ws = append(ws, Warning{File: c.file, Path: m.Path, Msg: m.Warning()})
		}
	}
	for _, name := range slices.Sorted(maps.Keys(c.Schedules)) {
		s, file := c.Schedules[name], c.scheduleFiles[name]
		gaps := s.Gaps(now, now.Add(GapWindow))
		for i, g := range gaps {
			if i == maxGapWarnings {
				ws = append(ws, Warning{File: file, Msg: fmt.Sprintf("… and %d more gaps in the next %d weeks",
					len(gaps)-i, GapWindow/(7*24*time.Hour))})
				break
			}
			ws = append(ws, Warning{File: file, Msg: gapText(g, s.Location())})
		}
	}
	for _, name := range slices.Sorted(maps.Keys(c.Policies)) {
		if p := c.Policies[name]; c.pagesNobody(p, now) {
			ws = append(ws, Warning{File: c.policyFiles[name], Path: "steps",
				Msg: fmt.Sprintf("pages nobody at %s: every schedule its steps target has nobody on call", now.Format(time.RFC3339))})
		}
	}
	ws = append(ws, c.standIns...)
	for i, t := range c.API.Tokens {
		if t.Scopes == nil {
			ws = append(ws, Warning{File: c.file, Path: fmt.Sprintf("api.tokens[%d]", i),
				Msg: fmt.Sprintf("token %q says no scopes, so it has them all (read, act, admin): list the ones it needs", t.Name)})
		}
	}
	if c.Store.Redis != nil && c.Secret == "" {
		ws = append(ws, Warning{File: c.file, Path: "secret",
			Msg: "unset with store.redis: each replica signs web console sessions with a random key of its own, so a session signed in on one replica is sent to sign in again on the others; set secret (the same on every replica, 16 random characters or more)"})
	}
	ws = append(ws, c.shortTokens()...)
	return append(ws, c.listenWarnings()...)
}

// shortTokens warns of each token shorter than minWebToken. A right
// token is never refused at ingest, /v2/enqueue and /metrics, even from
// an address over the limit of failed authentications: its length is
// its guard.
//
// It also warns of each token that is one of examples/klaxon.yaml's
// published defaults (exampleTokens) while a listener serves beyond this
// machine: the example runs as is, and whoever read it has its tokens.
func (c *Config) shortTokens() []Warning {
	var ws []Warning
	public := ""
	for _, ln := range c.Listen {
		if public == "" && !loopback(ln.Address) {
			public = ln.Address
		}
	}
	warn := func(path, token string) {
		switch {
		case public != "" && slices.Contains(exampleTokens, token):
			ws = append(ws, Warning{File: c.file, Path: path, Msg: fmt.Sprintf(
				"%q is a default of the example config, served beyond this machine on %s: whoever read the example can use it; set the environment variable the example names for it, to 16 random characters or more (openssl rand -hex 16)", token, public)})
		case token != "" && len(token) < minWebToken:
			ws = append(ws, Warning{File: c.file, Path: path, Msg: fmt.Sprintf(
				"a token of %s can be guessed: give it %d random characters or more (openssl rand -hex 16)", characters(len(token)), minWebToken)})
		}
	}
	for i, t := range c.API.Tokens {
		warn(fmt.Sprintf("api.tokens[%d].token", i), t.Token)
	}
	for i, t := range c.API.FeedTokens {
		warn(fmt.Sprintf("api.feed_tokens[%d].token", i), t.Token)
	}
	warn("api.metrics_token", c.API.MetricsToken)
	if public != "" && slices.Contains(exampleTokens, c.Secret) {
		warn("secret", c.Secret)
	}
	for i, in := range c.Integrations {
		warn(fmt.Sprintf("integrations[%d].token", i), in.Token)
	}
	return ws
}

// gapText describes g on the wall clock of loc, with its date:
// "nobody on call Sat 00:00–09:00 America/New_York (2026-11-28)".
func gapText(g schedule.Gap, loc *time.Location) string {
	msg := schedule.FormatGap(g, loc)
	if date := g.Start.In(loc).Format("2006-01-02"); !strings.Contains(msg, date) {
		msg += " (" + date + ")"
	}
	return msg
}

// pagesNobody reports whether p targets only schedules, all loaded, that
// have nobody on call at now.
func (c *Config) pagesNobody(p klaxon.Policy, now time.Time) bool {
	for _, st := range p.Steps {
		for _, t := range st.Targets {
			s, ok := c.Schedules[t.Name]
			if t.Kind != klaxon.TargetSchedule || !ok || len(s.OnCall(now)) > 0 {
				return false
			}
		}
	}
	return len(p.Steps) > 0
}

// exampleTokens are the tokens examples/klaxon.yaml falls back to when
// their environment variables are unset.
var exampleTokens = []string{"dev-api-token", "dev-feed-token", "dev-prometheus-token", "dev-datadog-token",
	"dev-pagerduty-routing-key", "dev-generic-token", "dev-secret-of-the-example"}

// characters says n characters, in words.
func characters(n int) string {
	if n == 1 {
		return "1 character"
	}
	return strconv.Itoa(n) + " characters"
}
