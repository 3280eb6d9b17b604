package config

import (
	"fmt"
	"strings"
	"time"

	"github.com/klaxonhq/klaxon"
)

// Integration types: the sources Klaxon accepts alerts from.
const (
	TypeAlertmanager = "alertmanager"
	TypeDatadog      = "datadog"
	TypePagerDuty    = "pagerduty"
	TypeGeneric      = "generic"
)

// Integration is one source of alerts. Its name scopes the alerts' keys
// (see klaxon.AlertKey); its token authenticates it (for pagerduty, the
// routing_key).
type Integration struct {
	Name  string `koanf:"name"`
	Type  string `koanf:"type"`
	Token string `koanf:"token"`
	// Labels are added to each alert of the integration that does not
	// carry the label already, for routing; every alert also carries
	// integration=<Name>.
	Labels map[string]string `koanf:"labels"`
}

// API holds the tokens of the HTTP API, for people and the CLI.
type API struct {
	Tokens []Token `koanf:"tokens"`
	// MetricsToken, when set, is the bearer token /metrics asks for; its
	// own, so that a scraper's token can do nothing else.
	MetricsToken string `koanf:"metrics_token"`
	// MaxSnooze bounds a snooze (default 7 days), MaxOverride a runtime
	// override of a schedule (default 366 days): longer ones are refused
	// with a 400 that names the bound.
	MaxSnooze   durationText `koanf:"max_snooze"`
	MaxOverride durationText `koanf:"max_override"`
}

// Defaults and ceiling of the API's bounds.
const (
	DefaultMaxSnooze   = 7 * 24 * time.Hour
	DefaultMaxOverride = 366 * 24 * time.Hour
	// maxBound keeps a bound, added to a time, far from overflowing.
	maxBound = 100 * 366 * 24 * time.Hour
)

// SnoozeBound is the longest snooze the API accepts.
func (a API) SnoozeBound() time.Duration { return a.MaxSnooze.or(DefaultMaxSnooze) }

// OverrideBound is the longest runtime override the API accepts.
func (a API) OverrideBound() time.Duration { return a.MaxOverride.or(DefaultMaxOverride) }

// Token is an API token; Name is who acts in an incident's timeline.
type Token struct {
	Name  string `koanf:"name"`
	Token string `koanf:"token"`
}

// checkIntegrations checks integrations: names and tokens set and unique.
func (l *loader) checkIntegrations(ins []Integration) {
	names, tokens := map[string]int{}, map[string]int{}
	for i, in := range ins {
		at := func(key string) string { return fmt.Sprintf("integrations[%d].%s", i, key) }
		switch j, dup := names[in.Name]; {
		case in.Name == "":
			l.probs.add(l.path, at("name"), "required")
		case strings.Contains(in.Name, "/"):
			l.probs.add(l.path, at("name"), `must not contain "/"`)
		case dup:
			l.probs.add(l.path, at("name"), "%q is also the name of integrations[%d]", in.Name, j)
		default:
			names[in.Name] = i
		}
		switch in.Type {
		case TypeAlertmanager, TypeDatadog, TypePagerDuty, TypeGeneric:
		case "":
			l.probs.add(l.path, at("type"), "required: alertmanager, datadog, pagerduty or generic")
		default:
			l.probs.add(l.path, at("type"), "unknown type %q: want alertmanager, datadog, pagerduty or generic", in.Type)
		}
		for k := range in.Labels {
			switch {
			case k == "":
				l.probs.add(l.path, at("labels"), "a label needs a name")
			case k == klaxon.LabelIntegration:
				l.probs.add(l.path, at("labels."+k), "every alert carries integration=<its integration's name> already")
			}
		}
		switch j, dup := tokens[in.Token]; {
		case in.Token == "":
			l.probs.add(l.path, at("token"), "required")
		case dup:
			l.probs.add(l.path, at("token"), "same as the token of integrations[%d]: each integration needs its own", j)
		default:
			tokens[in.Token] = i
		}
	}
}

// checkAPI checks the API tokens: names and tokens set and unique.
func (l *loader) checkAPI(api API) {
	for _, b := range []struct {
		key string
		d   durationText
	}{{"api.max_snooze", api.MaxSnooze}, {"api.max_override", api.MaxOverride}} {
		if b.d == "" {
			continue
		}
		if v, err := ParseDuration(string(b.d)); err != nil {
			l.probs.add(l.path, b.key, "%v", err)
		} else if v <= 0 || v > maxBound {
			l.probs.add(l.path, b.key, "must be positive and at most 100 years, got %s", b.d)
		}
	}
	names, tokens := map[string]int{}, map[string]int{}
	for i, t := range api.Tokens {
		at := func(key string) string { return fmt.Sprintf("api.tokens[%d].%s", i, key) }
		switch j, dup := names[t.Name]; {
		case t.Name == "":
			l.probs.add(l.path, at("name"), "required")
		case dup:
			l.probs.add(l.path, at("name"), "%q is also the name of api.tokens[%d]", t.Name, j)
		default:
			names[t.Name] = i
		}
		switch j, dup := tokens[t.Token]; {
		case t.Token == "":
			l.probs.add(l.path, at("token"), "required")
		case dup:
			l.probs.add(l.path, at("token"), "same as the token of api.tokens[%d]", j)
		default:
			tokens[t.Token] = i
		}
	}
}
