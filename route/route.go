// Package route holds the routing tree: it picks, for an alert's labels, the
// route whose matchers fit, and with it the escalation policy and the labels
// that group alerts into one incident.
//
// Matchers use Alertmanager's syntax (service="payments",
// severity=~"critical|page") and its parsers, read as Alertmanager v0.28
// reads them by default (see Classic), so rules can be copied between
// Alertmanager and Klaxon.
package route

import (
	"errors"
	"fmt"
	"slices"
	"sort"

	"github.com/klaxonhq/klaxon"
	"github.com/prometheus/alertmanager/pkg/labels"
)

// defaultGroupBy is the root route's group_by when klaxon.yaml sets none.
var defaultGroupBy = []string{"alertname", "service"}

// Spec is a route as written under `route:` in klaxon.yaml. A key tagged
// empty:"inherits" takes its parent's value when empty, so config refuses
// it written as a ${VAR} that expands to nothing.
type Spec struct {
	// Matchers select the alerts of a child route, in Alertmanager's syntax:
	// each string is one matcher (service="payments") or a set of them
	// ({service="payments",severity=~"critical|page"}). All must match.
	Matchers []string `koanf:"matchers"`
	// Policy names the escalation policy; a child inherits its parent's
	// when unset.
	Policy string `koanf:"policy" empty:"inherits"`
	// GroupBy lists the labels whose values form the correlation group; a
	// child inherits its parent's when unset (nil). An empty, non-nil list
	// puts every alert of the route in one group.
	GroupBy []string `koanf:"group_by"`
	// Urgency is high or low; a child inherits its parent's when unset,
	// and when no route sets it, it comes from each alert's severity.
	Urgency string `koanf:"urgency" empty:"inherits"`
	// AutoResolve resolves an incident once all its alerts have resolved
	// (default true); false keeps it open until someone resolves it. A
	// child inherits its parent's when unset.
	AutoResolve *bool `koanf:"auto_resolve"`
	// Subscribers get status updates of the route's incidents, besides
	// the policy's; a child adds to its parent's. SlackChannel, when set,
	// takes the place of the policy's; a child inherits its parent's.
	Subscribers  []string `koanf:"subscribers"`
	SlackChannel string   `koanf:"slack_channel" empty:"inherits"`
	// Routes are tried in order; the first that matches wins.
	Routes []Spec `koanf:"routes"`
}

// KeyHint says what to write instead of an Alertmanager route's key that
// a Spec does not take; "" for another key.
func (*Spec) KeyHint(key string) string {
	switch key {
	case "continue":
		return "the first route that matches wins, and an alert goes to one policy; to page two teams, give the policy a step with both"
	case "match", "match_re":
		return `write matchers instead: matchers: ['service="db"', 'env=~"prod|staging"']`
	case "receiver":
		return "a route names its escalation policy: policy: NAME"
	case "group_wait", "group_interval", "repeat_interval":
		return "Klaxon pages an incident as it opens, and again as its policy says (repeat, ack_timeout)"
	}
	return ""
}

// Route is a node of the routing tree, built by New.
type Route struct {
	// ID names the route by the chain of matchers from the root, in the
	// way of Alertmanager: "{}" for the root, "{}/{service=\"payments\"}"
	// for a child. It does not change when siblings are reordered.
	ID      string
	Policy  string
	GroupBy []string
	// Urgency is "high", "low", or "" to take it from the alert.
	Urgency string
	// KeepOpen: auto_resolve is false, and the route's incidents stay
	// open when all their alerts resolve.
	KeepOpen bool
	// Subscribers are added to the policy's; SlackChannel, when set,
	// takes the place of the policy's.
	Subscribers  []string
	SlackChannel string
	Matchers     labels.Matchers
	Routes       []*Route
	// classic are the route's matchers that only Alertmanager's classic
	// parser reads.
	classic []Classic
}

// ClassicMatchers lists the matchers of r and the routes under it that
// only Alertmanager's classic parser reads (see Classic), in the file's
// order.
func (r *Route) ClassicMatchers() []Classic {
	out := slices.Clone(r.classic)
	for _, c := range r.Routes {
		out = append(out, c.ClassicMatchers()...)
	}
	return out
}

// New builds the routing tree of s, the root route. Every problem found is
// returned, joined, as a *klaxon.FieldError whose Field is the key path in
// klaxon.yaml, like route.routes[0].matchers[1].
func New(s Spec) (*Route, error) {
	var errs []error
	if len(s.Matchers) > 0 {
		errs = append(errs, klaxon.Invalid("route.matchers", "not allowed on the root route, which takes every alert"))
	}
	if s.Policy == "" {
		errs = append(errs, klaxon.Invalid("route.policy", "required"))
	}
	groupBy := s.GroupBy
	if groupBy == nil {
		groupBy = defaultGroupBy
	}
	s.Matchers = nil
	r := build("route", "", s, &Route{Policy: s.Policy, GroupBy: groupBy}, &errs)
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return r, nil
}

// build makes the route of s at key path, inheriting from parent what s
// leaves unset, and appends problems to errs. The root's parent has no ID.
func build(path, parentID string, s Spec, parent *Route, errs *[]error) *Route {
	r := &Route{Policy: parent.Policy, GroupBy: slices.Clone(parent.GroupBy), Urgency: parent.Urgency, KeepOpen: parent.KeepOpen,
		Subscribers: addSubscribers(parent.Subscribers, s.Subscribers), SlackChannel: parent.SlackChannel}
	if s.Policy != "" {
		r.Policy = s.Policy
	}
	if s.SlackChannel != "" {
		r.SlackChannel = s.SlackChannel
	}
	if s.AutoResolve != nil {
		r.KeepOpen = !*s.AutoResolve
	}
	switch s.Urgency {
	case "":
	case "high", "low":
		r.Urgency = s.Urgency
	default:
		*errs = append(*errs, klaxon.Invalid(path+".urgency", "must be high or low, got %q", s.Urgency))
	}
	if s.GroupBy != nil {
		r.GroupBy = slices.Clone(s.GroupBy)
	}
	var ms labels.Matchers
	ms, *errs = parseMatchers(s.Matchers, path+".matchers", *errs, &r.classic)
	r.Matchers = append(r.Matchers, ms...)
	checkGroupBy(path, s.GroupBy, errs)

	sorted := slices.Clone(r.Matchers)
	sort.Sort(sorted)
	r.ID = sorted.String()
	if parentID != "" {
		r.ID = parentID + "/" + r.ID
	}

	seen := make(map[string]int, len(s.Routes))
	for i, c := range s.Routes {
		cpath := fmt.Sprintf("%s.routes[%d]", path, i)
		before := len(*errs)
		child := build(cpath, r.ID, c, r, errs)
		if len(*errs) > before {
			continue // its ID may lack a bad matcher: no duplicate check
		}
		if j, dup := seen[child.ID]; dup {
			*errs = append(*errs, klaxon.Invalid(cpath+".matchers", "same matchers as %s.routes[%d], so this route never matches", path, j))
			continue
		}
		seen[child.ID] = i
		r.Routes = append(r.Routes, child)
	}
	return r
}

// addSubscribers returns a new list of subs and then those of more that
// subs lacks, each once: every entry is told every update.
func addSubscribers(subs, more []string) []string {
	var out []string
	for _, s := range slices.Concat(subs, more) {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// checkGroupBy validates the group_by labels a route sets (nil when it
// inherits them).
func checkGroupBy(path string, written []string, errs *[]error) {
	for i, name := range written {
		field := fmt.Sprintf("%s.group_by[%d]", path, i)
		switch {
		case name == "":
			*errs = append(*errs, klaxon.Invalid(field, "empty label name"))
		case name == "...":
			*errs = append(*errs, klaxon.Invalid(field, `grouping by all labels ("...") is not supported`))
		case slices.Index(written, name) < i:
			*errs = append(*errs, klaxon.Invalid(field, "label %q listed twice", name))
		}
	}
}

// Match returns the route for an alert's labels: depth first, the first
// child whose matchers all match, recursively down to the deepest; r itself
// when no child matches. A missing label matches as the empty string, as in
// Alertmanager.
func (r *Route) Match(lbls map[string]string) *Route {
	for _, c := range r.Routes {
		if c.matches(lbls) {
			return c.Match(lbls)
		}
	}
	return r
}

func (r *Route) matches(lbls map[string]string) bool {
	for _, m := range r.Matchers {
		if !m.Matches(lbls[m.Name]) {
			return false
		}
	}
	return true
}
