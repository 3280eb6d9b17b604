package route

import (
	"fmt"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/incident"
)

// Table is what routing decides with, for one config: the tree, the
// policies its routes name, and the labels each integration adds to its
// alerts. It tells where an alert goes: its group, and what a new
// incident of that group starts with. A reload builds a new Table.
type Table struct {
	root     *Route
	policies map[string]klaxon.Policy
	labels   map[string]map[string]string
}

// NewTable returns the table of the tree root, the policies by name,
// and the labels of each integration by its name. It keeps the maps.
func NewTable(root *Route, policies map[string]klaxon.Policy, labels map[string]map[string]string) *Table {
	return &Table{root: root, policies: policies, labels: labels}
}

// Labels are the labels the integration called name adds to its alerts
// (see klaxon.Alert.Label).
func (t *Table) Labels(integration string) map[string]string { return t.labels[integration] }

// Match returns the route of an alert with labels lbls.
func (t *Table) Match(lbls map[string]string) *Route { return t.root.Match(lbls) }

// Group returns the group of a: what Route's template says, without the
// policy lookup, for the second and later alerts of a group in one body.
func (t *Table) Group(a *klaxon.Alert) (string, error) {
	return t.Match(a.Labels).GroupKey(a.Labels, a.Key), nil
}

// Route finds a's route, and from it a's group, the group's labels, the
// policy, the urgency and whether it resolves by itself of a new
// incident of that group. The error
// names a policy the route names and the table does not have, which
// config's validation prevents.
func (t *Table) Route(a *klaxon.Alert) (incident.Template, error) {
	r := t.Match(a.Labels)
	p, ok := t.policies[r.Policy]
	if !ok {
		return incident.Template{}, fmt.Errorf("route %s: no policy %q", r.ID, r.Policy)
	}
	if len(r.Subscribers) > 0 {
		p.Subscribers = addSubscribers(p.Subscribers, r.Subscribers)
	}
	if r.SlackChannel != "" {
		p.SlackChannel = r.SlackChannel
	}
	return incident.Template{
		Group:    r.GroupKey(a.Labels, a.Key),
		Labels:   r.GroupLabels(a.Labels),
		Policy:   p,
		Urgency:  klaxon.Urgency(r.Urgency),
		KeepOpen: r.KeepOpen,
	}, nil
}
