package ingest

import (
	"context"
	"fmt"
	"time"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/incident"
)

// Router decides, from an alert's labels, the group the alert joins and
// what a new incident of that group starts with.
type Router interface {
	Route(labels map[string]string) (incident.Template, error)
}

// Pipeline commits normalised alerts: it routes them into groups, folds
// them into each group's incident with incident.Apply, and commits each
// group atomically.
type Pipeline struct {
	store  klaxon.Store
	router func() Router
	wake   func()
	now    func() time.Time
}

// NewPipeline returns a pipeline. router is called once per delivery, so
// a reloaded route tree applies from the next delivery on; wake is called
// when an incident opened and its first page is due.
func NewPipeline(store klaxon.Store, router func() Router, wake func(), now func() time.Time) *Pipeline {
	if now == nil {
		now = time.Now
	}
	return &Pipeline{store: store, router: router, wake: wake, now: now}
}

// batch is the alerts of one delivery that fall into one group.
type batch struct {
	tmpl   incident.Template
	alerts []klaxon.Alert
}

// Accept commits alerts. When it returns nil every alert is durable in the
// store; otherwise the sender must retry, and a retry is harmless.
func (p *Pipeline) Accept(ctx context.Context, alerts []klaxon.Alert) error {
	batches, err := p.group(ctx, alerts)
	if err != nil {
		return err
	}
	opened := false
	for _, b := range batches {
		o, err := p.commit(ctx, b)
		if err != nil {
			return err
		}
		opened = opened || o
	}
	if opened && p.wake != nil {
		p.wake()
	}
	return nil
}

// group splits alerts into per-group batches, in the order their groups
// first appear. A firing alert is routed by its labels; a resolved alert
// goes to the group that indexed it when it fired, so that it resolves
// what it opened even if its labels or the routes changed since.
func (p *Pipeline) group(ctx context.Context, alerts []klaxon.Alert) ([]*batch, error) {
	var resolved []string
	for _, a := range alerts {
		if a.Status == klaxon.Resolved {
			resolved = append(resolved, a.Key)
		}
	}
	indexed := map[string]string{}
	if len(resolved) > 0 {
		var err error
		if indexed, err = p.store.AlertGroups(ctx, resolved); err != nil {
			return nil, fmt.Errorf("look up resolved alerts: %w", err)
		}
	}
	router := p.router()
	byKey := map[string]*batch{}
	var out []*batch
	for _, a := range alerts {
		var tmpl incident.Template
		if g, ok := indexed[a.Key]; ok && a.Status == klaxon.Resolved {
			tmpl.Group = g
		} else {
			var err error
			if tmpl, err = router.Route(a.Labels); err != nil {
				return nil, fmt.Errorf("route alert %s: %w", a.Key, err)
			}
		}
		b, ok := byKey[tmpl.Group]
		if !ok {
			b = &batch{tmpl: tmpl}
			byKey[tmpl.Group] = b
			out = append(out, b)
		} else if b.tmpl.Policy.Name == "" {
			b.tmpl = tmpl // a routed template knows the policy; an indexed one does not
		}
		b.alerts = append(b.alerts, a)
	}
	return out, nil
}

// commit folds one batch into its group and reports whether it opened an
// incident that must page.
func (p *Pipeline) commit(ctx context.Context, b *batch) (opened bool, err error) {
	var id string // allocated once, kept across retries
	err = klaxon.Update(ctx, p.store, b.tmpl.Group, func(g klaxon.Group) (*klaxon.Commit, error) {
		now := p.now()
		r := incident.Apply(g.Open, b.alerts, now, b.tmpl)
		opened = r.Opened && !r.Resolved
		if !r.Changed {
			return nil, nil
		}
		inc := r.Incident
		if r.Opened {
			if id == "" {
				var err error
				if id, err = p.store.NextIncidentID(ctx); err != nil {
					return nil, err
				}
			}
			inc.ID = id
		}
		c := &klaxon.Commit{Open: inc.ID, Incidents: []*klaxon.Incident{inc}, Index: r.Index, Unindex: r.Unindex}
		switch {
		case r.Resolved:
			c.Open = ""
			if !r.Opened {
				c.Cancel = []string{inc.ID}
			}
		case r.Opened:
			c.Timers = []klaxon.Timer{{Incident: inc.ID, Group: inc.Group, Due: now}}
		}
		return c, nil
	})
	if err != nil {
		return false, fmt.Errorf("commit group %s: %w", b.tmpl.Group, err)
	}
	return opened, nil
}
