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
// matchers, which takes every alert first; a route that asks a label for
// a value that another of its matchers, or of its ancestors', refuses
// (service="db" under service="web", or env="prod" with env!="prod"); a
// route that matches the integration label of no integration (a sender
// may set that label itself, so this one may be meant). A route's
// children are not listed when it is.
func (r *Route) Unreachable(integrations []string) []Unreachable {
	var out []Unreachable
	r.unreachable("route", nil, integrations, &out)
	return out
}

// unreachable lists the routes under r, whose matchers and those of
// its ancestors are above: a child takes only alerts they all match.
func (r *Route) unreachable(path string, above labels.Matchers, integrations []string, out *[]Unreachable) {
	above = append(slices.Clip(above), r.Matchers...)
	catchAll := -1
	for i, c := range r.Routes {
		at := fmt.Sprintf("%s.routes[%d]", path, i)
		if catchAll >= 0 {
			*out = append(*out, Unreachable{at, fmt.Sprintf("never reached: %s.routes[%d] before it has no matchers and takes every alert", path, catchAll)})
			continue
		}
		if why := c.contradiction(above); why != "" {
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
		c.unreachable(at, above, integrations, out)
	}
}

// contradiction says why r's matchers, with those of its ancestors
// above, can match no alert, or "": a matcher asks a label for a value
// that another refuses, one of them r's.
func (r *Route) contradiction(above labels.Matchers) string {
	all := append(slices.Clip(above), r.Matchers...)
	refused := ""
	for i, a := range all {
		if a.Type != labels.MatchEqual {
			continue
		}
		for j, b := range all {
			if i == j || a.Name != b.Name || b.Matches(a.Value) || (i < len(above) && j < len(above)) {
				continue
			}
			if b.Type == labels.MatchEqual {
				return fmt.Sprintf("never matches: it asks %s to be both %q and %q", a.Name, a.Value, b.Value)
			}
			if refused == "" {
				refused = fmt.Sprintf("never matches: it asks %s to be %q, which %s refuses", a.Name, a.Value, b)
			}
		}
	}
	return refused
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
