package ingest

import (
	"context"
	"fmt"
	"time"

	"github.com/klaxonhq/klaxon"
)

// Heartbeat is what the config says of a heartbeat integration.
type Heartbeat struct {
	Interval, Grace time.Duration
	// Labels are the integration's, added to its alert for routing.
	Labels map[string]string
}

// Accepter commits alerts as a webhook's are: routed, deduplicated and
// paged.
type Accepter interface {
	Accept(ctx context.Context, alerts []klaxon.Alert) error
}

// Heartbeats is the dead man's switch: each heartbeat integration is
// pinged every interval, and a ping missing for interval + grace opens an
// incident on its route, which the next ping resolves. The deadline is a
// timer in the store, so it holds across restarts and replicas.
type Heartbeats struct {
	store  klaxon.Store
	accept Accepter
	config func(name string) (Heartbeat, bool)
	now    func() time.Time
}

// NewHeartbeats returns the heartbeats of config (read at each ping and
// deadline), committing through store and accept.
func NewHeartbeats(store klaxon.Store, accept Accepter, config func(name string) (Heartbeat, bool), now func() time.Time) *Heartbeats {
	return &Heartbeats{store: store, accept: accept, config: config, now: now}
}

// HeartbeatAlertname is the alertname of a missed heartbeat's alert.
const HeartbeatAlertname = "HeartbeatMissed"

// alert is heartbeat name's alert, firing while pings are missing.
func (h *Heartbeats) alert(name string, hb Heartbeat, status klaxon.Status, at time.Time) klaxon.Alert {
	a := klaxon.Alert{
		Key: klaxon.AlertKey(name, "heartbeat"), Integration: name, Status: status,
		Summary:  fmt.Sprintf("Heartbeat %s missed: no ping for %s", name, klaxon.Span(hb.Interval+hb.Grace)),
		Severity: "critical",
		Labels:   map[string]string{"alertname": HeartbeatAlertname, "heartbeat": name, "service": name},
		StartsAt: at,
	}
	if status == klaxon.Resolved {
		// A ping resolves the silence whatever its deadline: it says
		// only that, and is not ordered by time against the alert its
		// deadline raised (which starts at the deadline, a ping racing it
		// just before).
		a.EndsAt, a.Partial = at, true
	}
	a.Label(hb.Labels)
	return a
}

// deadline is heartbeat name's next deadline from now, set by the commit
// that leaves its group at version.
func deadline(name string, version uint64, hb Heartbeat, now time.Time) klaxon.Timer {
	return klaxon.Timer{Incident: klaxon.HeartbeatTimer(name, version), Group: klaxon.HeartbeatGroup(name), Due: now.Add(hb.Interval + hb.Grace)}
}

// Ping records a ping of heartbeat name: its deadline moves to now +
// interval + grace, and an incident its silence opened resolves.
func (h *Heartbeats) Ping(ctx context.Context, name string) error {
	hb, ok := h.config(name)
	if !ok {
		return fmt.Errorf("heartbeat %s: %w", name, klaxon.ErrNotFound)
	}
	now := h.now()
	group := klaxon.HeartbeatGroup(name)
	// The deadline's group, which the resolve's need not share: on the
	// replicas before the ping is answered.
	wait := klaxon.Barrier(ctx, h.store, []string{group})
	err := klaxon.Update(ctx, h.store, group, nil, func(g klaxon.Group) (*klaxon.Commit, error) {
		return &klaxon.Commit{
			// The deadline the last ping set, if that was the last commit.
			Cancel: []string{klaxon.HeartbeatTimer(name, g.Version)},
			Timers: []klaxon.Timer{deadline(name, g.Version+1, hb, now)},
		}, nil
	})
	if err != nil {
		return fmt.Errorf("heartbeat %s: %w", name, err)
	}
	if err := h.accept.Accept(ctx, []klaxon.Alert{h.alert(name, hb, klaxon.Resolved, now)}); err != nil {
		return err
	}
	if err := wait(ctx); err != nil {
		return fmt.Errorf("heartbeat %s: %w", name, err)
	}
	return nil
}

// Arm sets the first deadline of each heartbeat of names that was never
// pinged: a sender that never starts is missed too, an interval and a
// grace after Klaxon first knew of it. A heartbeat with a history keeps
// its deadline; replicas that arm at once set one.
func (h *Heartbeats) Arm(ctx context.Context, names []string) error {
	now := h.now()
	for _, name := range names {
		hb, ok := h.config(name)
		if !ok {
			continue
		}
		group := klaxon.HeartbeatGroup(name)
		err := klaxon.Update(ctx, h.store, group, nil, func(g klaxon.Group) (*klaxon.Commit, error) {
			if g.Version != 0 {
				return nil, nil
			}
			return &klaxon.Commit{Timers: []klaxon.Timer{deadline(name, 1, hb, now)}}, nil
		})
		if err != nil {
			return fmt.Errorf("arm heartbeat %s: %w", name, err)
		}
	}
	return nil
}

// Rearm starts the wait of each heartbeat of names anew from now: its
// deadline moves to now + interval + grace, whatever the last ping set.
// A reload that lengthens a heartbeat's wait rearms it, so that the
// deadline its last ping set under the shorter one (a sender pinged six
// minutes ago, its interval lengthened from 5m to 1h) does not fire; a
// sender silent since is missed a whole new wait on. Should the old
// deadline be firing as Rearm commits, Missed takes the commit for a
// ping and resolves what it fired: under the longer wait, no silence
// was missed. A shortened wait is not rearmed: a deadline due meanwhile
// would be resolved so, though the sender is silent.
func (h *Heartbeats) Rearm(ctx context.Context, names []string) error {
	now := h.now()
	for _, name := range names {
		hb, ok := h.config(name)
		if !ok {
			continue
		}
		err := klaxon.Update(ctx, h.store, klaxon.HeartbeatGroup(name), nil, func(g klaxon.Group) (*klaxon.Commit, error) {
			return &klaxon.Commit{
				Cancel: []string{klaxon.HeartbeatTimer(name, g.Version)},
				Timers: []klaxon.Timer{deadline(name, g.Version+1, hb, now)},
			}, nil
		})
		if err != nil {
			return fmt.Errorf("rearm heartbeat %s: %w", name, err)
		}
	}
	return nil
}

// dormantCheck is how often the deadline of a heartbeat no longer in the
// config comes back, in case it was put back.
const dormantCheck = time.Hour

// Missed takes a heartbeat's deadline t, claimed by the engine: when no
// ping came since the one that set it, the heartbeat's alert fires, and
// the next deadline is set an interval and a grace on, so that a sender
// still silent then fires it again (into the open incident, or anew
// when someone resolved it meanwhile). A deadline that a ping made stale
// is let go with its claim; one of a heartbeat no longer in the config
// comes back in dormantCheck.
func (h *Heartbeats) Missed(ctx context.Context, t klaxon.Timer) error {
	name, version, ok := klaxon.ParseHeartbeatTimer(t.Incident)
	if !ok {
		return fmt.Errorf("timer %s: not a heartbeat's", t.Incident)
	}
	hb, known := h.config(name)
	g, err := h.store.Group(ctx, t.Group, nil)
	if err != nil {
		return fmt.Errorf("heartbeat %s: %w", name, err)
	}
	if known && g.Version == version {
		// Fired before the deadline moves: a crash in between fires it
		// again, which the open incident takes as a repeat.
		if err := h.accept.Accept(ctx, []klaxon.Alert{h.alert(name, hb, klaxon.Firing, t.Due)}); err != nil {
			return fmt.Errorf("heartbeat %s: %w", name, err)
		}
		// A ping that landed since the read sent its resolve before this
		// alert fired, to no incident: resolve what the alert opened. A
		// ping that lands later resolves it itself.
		if g, err := h.store.Group(ctx, t.Group, nil); err != nil {
			return fmt.Errorf("heartbeat %s: %w", name, err)
		} else if g.Version != version {
			if err := h.accept.Accept(ctx, []klaxon.Alert{h.alert(name, hb, klaxon.Resolved, h.now())}); err != nil {
				return fmt.Errorf("heartbeat %s: %w", name, err)
			}
		}
	}
	now := h.now()
	err = klaxon.Update(ctx, h.store, t.Group, nil, func(g klaxon.Group) (*klaxon.Commit, error) {
		c := &klaxon.Commit{Cancel: []string{t.Incident}, Claim: t.Claim, Urgent: true}
		switch {
		case g.Version != version:
			// A ping came, and cancelled this deadline as it set its own:
			// a commit here would make that one stale.
			return nil, nil
		case known:
			c.Timers = []klaxon.Timer{deadline(name, g.Version+1, hb, now)}
		default:
			// No longer in the config: looked at again every dormantCheck,
			// so that one put back (a reload, then a restart, whose Arm
			// leaves a heartbeat with a history be) is missed while its
			// sender stays silent. A ping sets its deadline at once.
			c.Timers = []klaxon.Timer{{Incident: klaxon.HeartbeatTimer(name, g.Version+1), Group: t.Group, Due: now.Add(dormantCheck)}}
		}
		return c, nil
	})
	if err != nil {
		return fmt.Errorf("heartbeat %s: %w", name, err)
	}
	return nil
}
