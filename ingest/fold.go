package ingest

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/incident"
	"github.com/klaxonhq/klaxon/telemetry"
)

// folded is a commit that deliveries make of a group.
type folded struct {
	c      *klaxon.Commit // nil when there is nothing to write
	opened bool           // c opens an incident, or releases a held one, that must page now
	// next is the group as c leaves it: its version after c, its open
	// incident's header and what that incident keeps of the alerts
	// folded or read.
	next klaxon.Group
	// dedup counts the firing alerts that were open already; policies
	// and resolved name the policy of each incident c opens and
	// resolves.
	dedup              int
	policies, resolved []string
	// incident is the incident the deliveries' alerts went to: the
	// group's open one after c, else the last c wrote; with nothing to
	// write, the group's open one. "" for none.
	incident string
}

// fold computes the commit that deliveries ds, with template tmpl, make
// of group g. ids are the incident IDs allocated by earlier calls for the
// same deliveries, used again before new ones are. g.Alerts becomes
// next's.
func (p *Pipeline) fold(ctx context.Context, g klaxon.Group, tmpl incident.Template, ds []*delivery, ids *[]string) (folded, error) {
	_, span := p.span(ctx, "incident.apply")
	defer span.End()
	now := p.now()
	f := folded{}
	open, opening := g.Open, 0
	known := g.Alerts // the caller's: see klaxon.Group
	if known == nil {
		known = map[string]klaxon.Seen{}
	}
	// The incidents the commit writes, in order, each with the alerts
	// and events of every delivery that changed it. Apply is handed
	// only the header, so that folding many deliveries copies no
	// alerts from one Apply to the next.
	var incs []*klaxon.Incident
	var lastAt map[string]int      // where each alert of the last of incs is in its Changed, once merged into
	index := map[string][]string{} // by incident: the keys it indexes
	// What the group's last closed incident, closedID, keeps of the
	// alerts: read when an incident would open, or kept as this fold
	// closes one.
	var closed map[string]klaxon.Seen
	var closedID string
	c := &klaxon.Commit{At: now}
	for rest := ds; len(rest) > 0; {
		d := rest[0]
		var alerts []klaxon.Alert
		alerts, rest = joining(rest, open != nil && !p.isHeld(open, now))
		if open == nil && Firing(alerts) > 0 {
			if closed == nil {
				var err error
				if closedID, closed, err = p.closedAlerts(ctx, g, ds); err != nil {
					return folded{}, err
				}
			}
			alerts = dropLate(alerts, closed)
			n := len(alerts)
			alerts = p.dropMerged(ctx, closedID, alerts, closed)
			f.dedup += n - len(alerts)
		}
		r := incident.Apply(open, known, alerts, now, p.silence(tmpl, open, alerts, now))
		f.dedup += max(Firing(alerts)-len(r.Index), 0)
		if !r.Changed {
			continue
		}
		inc := r.Incident
		if r.Opened {
			if opening == len(*ids) {
				id, err := p.store.NextIncidentID(ctx)
				if err != nil {
					return folded{}, fmt.Errorf("open an incident of group %s: %w", g.Key, err)
				}
				*ids = append(*ids, id)
			}
			inc.ID = (*ids)[opening]
			inc.Trace = telemetry.Traceparent(d.span) // before the header is taken
			opening++
		}
		for _, a := range inc.Changed {
			known[a.Key] = a.Seen()
		}
		header := *inc
		header.Changed, header.Recorded = nil, nil
		if n := len(incs); n > 0 && incs[n-1].ID == inc.ID {
			// The same incident, further on.
			if lastAt == nil {
				lastAt = make(map[string]int, len(incs[n-1].Changed))
				for i := range incs[n-1].Changed {
					lastAt[incs[n-1].Changed[i].Key] = i
				}
			}
			inc.Changed = mergeChanged(incs[n-1].Changed, inc.Changed, lastAt)
			inc.Recorded = append(incs[n-1].Recorded, inc.Recorded...)
			incs[n-1] = inc
		} else {
			incs, lastAt = append(incs, inc), nil
		}
		index[inc.ID] = append(index[inc.ID], r.Index...)
		switch {
		case r.Resolved:
			delete(index, inc.ID) // a closed incident indexes nothing
			f.resolved = append(f.resolved, inc.Policy.Name)
			if r.Opened {
				f.policies = append(f.policies, inc.Policy.Name)
			} else {
				c.Schedule(inc, time.Time{})
			}
			open, closed, closedID, known = nil, known, inc.ID, map[string]klaxon.Seen{}
		case r.Opened:
			f.opened = true
			f.policies = append(f.policies, inc.Policy.Name)
			due := now // its first step pages at once
			if window, until, held := p.held(alerts, now); held {
				inc.Escalation.NextAt, header.Escalation.NextAt = until, until
				inc.Escalation.HeldBy, header.Escalation.HeldBy = window, window
				inc.Record(klaxon.Event{At: now, Kind: klaxon.EventAlertSilenced, Alert: inc.Changed[0].Key,
					Text: "maintenance " + window + " holds the first page until " + until.UTC().Format(time.RFC3339)})
				due = until
			}
			c.Schedule(inc, due)
			open = &header
		default:
			if key, ok := p.unheld(inc, alerts, now); ok {
				// An alert no window holds joined a held incident: its
				// page goes now.
				inc.Escalation.NextAt, header.Escalation.NextAt = time.Time{}, time.Time{}
				inc.Escalation.HeldBy, header.Escalation.HeldBy = "", ""
				inc.Record(klaxon.Event{At: now, Kind: klaxon.EventEscalated, Alert: key, Text: "an alert no maintenance window holds: the held page goes now"})
				c.Schedule(inc, now)
				f.opened = true // its page is due now: the engine is woken for it
			} else if window, until, key, ok := p.sooner(inc, alerts, now); ok {
				// An alert that a window frees sooner joined: the held
				// page is looked at again then, as it may still fire.
				inc.Escalation.NextAt, header.Escalation.NextAt = until, until
				inc.Escalation.HeldBy, header.Escalation.HeldBy = window, window
				inc.Record(klaxon.Event{At: now, Kind: klaxon.EventAlertSilenced, Alert: key,
					Text: "maintenance " + window + " holds the alert until " + until.UTC().Format(time.RFC3339) + ": the held page is looked at again then"})
				c.Schedule(inc, until)
			} else if r.Raised {
				// Its urgency rose: the engine pages the steps walked
				// so far by the rules of the new urgency, now.
				c.Schedule(inc, now)
				f.opened = true
			}
			open = &header
		}
	}
	switch {
	case open != nil:
		f.incident = open.ID
	case len(incs) > 0:
		f.incident = incs[len(incs)-1].ID
	}
	if len(incs) == 0 {
		return f, nil
	}
	c.Incidents = incs
	if open != nil {
		c.Open = open.ID
		c.Index = index[open.ID]
		if len(c.Index) > 0 {
			c.Moved = new([]klaxon.Move) // see move
		}
	}
	f.c = c
	f.next = klaxon.Group{Key: g.Key, Version: g.Version + 1, Open: open, Alerts: known}
	return f, nil
}

// closedAlerts reads the ID of group g's last closed incident and what it
// keeps of the alerts of ds; empty, never nil, when it has none.
func (p *Pipeline) closedAlerts(ctx context.Context, g klaxon.Group, ds []*delivery) (string, map[string]klaxon.Seen, error) {
	if g.Version == 0 {
		return "", map[string]klaxon.Seen{}, nil // never written: none closed
	}
	_, keys := batch(ds)
	id, closed, err := p.store.ClosedAlerts(ctx, g.Key, keys)
	if closed == nil && err == nil {
		closed = map[string]klaxon.Seen{}
	}
	return id, closed, err
}

// dropMerged returns alerts without the firing reports of alerts that
// the group's last closed incident, id, holds firing, as the same
// occurrence, when it merged into an incident still open that holds them
// too (a copy of each), as a merged alert lives on in its target in
// PagerDuty. An Alertmanager sends a group again at group_interval
// when any of its alerts changes, and at repeat_interval: each time, the
// alerts of an incident merged away would open an incident, and page,
// for what the merge's target holds. A new occurrence, a resolve, a
// report with no start, and every report once the target resolved go on
// as after any resolve. alerts, a delivery's, is left as it is.
func (p *Pipeline) dropMerged(ctx context.Context, id string, alerts []klaxon.Alert, closed map[string]klaxon.Seen) []klaxon.Alert {
	held := func(a klaxon.Alert) bool {
		cur, ok := closed[a.Key]
		// A report with no start cannot tell the occurrence merged from
		// a later one, after a resolve that reached no incident. One
		// with an earlier start (the other Prometheus of a pair), or a
		// renotification dated when it was sent (Alert.Repeat), is the
		// occurrence merged, as incident.Apply takes it.
		return ok && a.Status == klaxon.Firing && cur.Status == klaxon.Firing &&
			!a.StartsAt.IsZero() && !cur.StartsAt.IsZero() &&
			(incident.SameOccurrence(&cur, a) || a.StartsAt.Before(cur.StartsAt) || a.Repeat)
	}
	if id == "" || !slices.ContainsFunc(alerts, held) {
		return alerts
	}
	// A read that fails keeps the alerts: a page more is better than a
	// delivery refused.
	src, err := p.store.Incident(ctx, id)
	if err != nil {
		p.log.Warn("read the group's closed incident; its alerts sent again open an incident", "incident", id, "err", err)
		return alerts
	}
	dst := src.MergedInto()
	if dst == "" {
		return alerts
	}
	into, err := p.store.Incident(ctx, dst)
	if err == nil && !into.State.Open() {
		return alerts
	}
	// Only what dst holds: a merge stopped halfway and not asked again
	// left the rest of src's alerts in src alone.
	var g klaxon.Group
	if err == nil {
		var keys []string
		for _, a := range alerts {
			if held(a) {
				keys = append(keys, a.Key)
			}
		}
		g, err = p.store.Group(ctx, into.Group, keys)
	}
	if err != nil {
		p.log.Warn("read the incident a closed one merged into; its alerts sent again open an incident", "incident", dst, "err", err)
		return alerts
	}
	if g.Open == nil || g.Open.ID != dst {
		return alerts
	}
	return slices.DeleteFunc(slices.Clone(alerts), func(a klaxon.Alert) bool {
		_, ok := g.Alerts[a.Key]
		return ok && held(a)
	})
}

// dropLate returns alerts without the firing reports late to the
// group's last closed incident, of which closed holds what it kept: a
// sender's retry, or the other Alertmanager of a pair, that reports an
// occurrence which ended there. It would open an incident, and page,
// for what is over. alerts, a delivery's, is left as it is.
func dropLate(alerts []klaxon.Alert, closed map[string]klaxon.Seen) []klaxon.Alert {
	if len(closed) == 0 {
		return alerts
	}
	return slices.DeleteFunc(slices.Clone(alerts), func(a klaxon.Alert) bool {
		cur, ok := closed[a.Key]
		return ok && a.Status == klaxon.Firing && incident.Late(&cur, a)
	})
}

// joining returns the alerts of the deliveries at the head of ds that
// fold as one, and the deliveries after them. While the group has an
// open incident whose page no maintenance window holds (join), deliveries
// of firing alerts alone join it one after the other and none can end
// it: Apply takes them at once, as it would take one delivery of them
// all, and the header is copied once, not once a delivery. Any other
// delivery goes alone: it may open the incident, which the next ones
// then join, or resolve it; and one that joins a held incident may
// release its page, which is recorded after that delivery, and only if
// it changed the incident.
func joining(ds []*delivery, join bool) ([]klaxon.Alert, []*delivery) {
	n := 1
	if join && allFiring(ds[0].alerts) {
		for n < len(ds) && allFiring(ds[n].alerts) {
			n++
		}
	}
	if n == 1 {
		return ds[0].alerts, ds[1:]
	}
	size := 0
	for _, d := range ds[:n] {
		size += len(d.alerts)
	}
	alerts := make([]klaxon.Alert, 0, size)
	for _, d := range ds[:n] {
		alerts = append(alerts, d.alerts...)
	}
	return alerts, ds[n:]
}

func allFiring(alerts []klaxon.Alert) bool {
	return Firing(alerts) == len(alerts)
}

// mergeChanged appends the records of later to those of earlier, a record
// of later replacing earlier's of the same alert in place, so that each
// alert is written once, as last folded. at says where each alert of
// earlier is, and is kept up to date, so that folding many deliveries
// costs what they hold, not their square.
func mergeChanged(earlier, later []klaxon.AlertState, at map[string]int) []klaxon.AlertState {
	for _, a := range later {
		if i, ok := at[a.Key]; ok {
			a.KeepDetails(earlier[i]) // a partial report keeps what an earlier delivery said
			earlier[i] = a
			continue
		}
		at[a.Key] = len(earlier)
		earlier = append(earlier, a)
	}
	return earlier
}
