package route

import (
	"fmt"
	"slices"
	"strings"

	"github.com/prometheus/alertmanager/pkg/labels"

	"github.com/klaxonhq/klaxon"
)

// Unreachable is a route that no alert can take.
type Unreachable struct {
	// Path is the route's key path in klaxon.yaml, like
	// route.routes[1].routes[0].
	Path string
	Why  string
}

// Unreachable lists the routes under r that no alert can take, given the
// names of the configured integrations: a route after a sibling without
// matchers, which takes every alert first; a route that asks one label for
// two different values; a route that matches the integration label of no
// integration (a sender may set that label itself, so this one may be
// meant). A route's children are not listed when it is.
func (r *Route) Unreachable(integrations []string) []Unreachable {
	var out []Unreachable
	r.unreachable("route", integrations, &out)
	return out
}

func (r *Route) unreachable(path string, integrations []string, out *[]Unreachable) {
	catchAll := -1
	for i, c := range r.Routes {
		at := fmt.Sprintf("%s.routes[%d]", path, i)
		if catchAll >= 0 {
			*out = append(*out, Unreachable{at, fmt.Sprintf("never reached: %s.routes[%d] before it has no matchers and takes every alert", path, catchAll)})
			continue
		}
		if why := c.contradiction(); why != "" {
			*out = append(*out, Unreachable{at, why})
			continue
		}
		if why := c.noIntegration(integrations); why != "" {
			*out = append(*out, Unreachable{at, why})
			continue
		}
		if len(c.Matchers) == 0 {
			catchAll = i
		}
		c.unreachable(at, integrations, out)
	}
}

// contradiction says why r's matchers can match no alert, or "".
func (r *Route) contradiction() string {
	for i, a := range r.Matchers {
		for _, b := range r.Matchers[i+1:] {
			if a.Name == b.Name && a.Type == labels.MatchEqual && b.Type == labels.MatchEqual && a.Value != b.Value {
				return fmt.Sprintf("never matches: it asks %s to be both %q and %q", a.Name, a.Value, b.Value)
			}
		}
	}
	return ""
}

// noIntegration says why r's matchers on the integration label match
// none of integrations, or "".
func (r *Route) noIntegration(integrations []string) string {
	for _, m := range r.Matchers {
		if m.Name != klaxon.LabelIntegration || (m.Type != labels.MatchEqual && m.Type != labels.MatchRegexp) {
			continue
		}
		if !slices.ContainsFunc(integrations, m.Matches) {
			return fmt.Sprintf("matches no integration's alerts: %s; the integrations are %s (a sender may set the label itself)",
				m, strings.Join(integrations, ", "))
		}
	}
	return ""
}
