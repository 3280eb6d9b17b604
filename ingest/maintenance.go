package ingest

import (
	"slices"
	"time"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/incident"
)

// Maintenance windows hold the first page of the incidents their alerts
// open, until they close; the pipeline asks through a Hold.

// Hold reports whether a maintenance window holds an alert with lbls at
// now: its name, and when it closes.
type Hold func(lbls map[string]string, now time.Time) (window string, until time.Time, ok bool)

// WithMaintenance holds the first page of incidents opened by alerts
// that a maintenance window matches until the window closes: they are
// recorded and page nobody meanwhile, and page then as if new if they
// still fire.
func WithMaintenance(hold Hold) Option {
	return func(p *Pipeline) { p.hold = hold }
}

// held reports whether maintenance windows hold every firing alert of
// a delivery that opened an incident (see HoldAll).
func (p *Pipeline) held(alerts []klaxon.Alert, now time.Time) (window string, until time.Time, ok bool) {
	if p.hold == nil {
		return "", time.Time{}, false
	}
	return HoldAll(p.hold, alerts, now)
}

// HoldAll reports whether maintenance windows hold every firing alert
// of alerts at now, as hold says of each: the first of them to free
// its alert, and when; the page is looked at again then, as that alert
// may still fire. One alert no window holds pages at once.
func HoldAll(hold Hold, alerts []klaxon.Alert, now time.Time) (window string, until time.Time, ok bool) {
	for _, a := range alerts {
		if a.Status != klaxon.Firing {
			continue
		}
		w, u, held := hold(a.Labels, now)
		if !held {
			return "", time.Time{}, false
		}
		if until.IsZero() || u.Before(until) {
			window, until = w, u
		}
	}
	return window, until, !until.IsZero()
}

// isHeld reports whether inc's first page is held by a maintenance
// window now: an alert that joins it may release the page (see unheld).
func (p *Pipeline) isHeld(inc *klaxon.Incident, now time.Time) bool {
	return p.hold != nil && inc.State == klaxon.StateTriggered && inc.Escalation.Step < 0 && now.Before(inc.Escalation.NextAt)
}

// sooner reports whether inc is held by a maintenance window and one
// of alerts fires that a window holds for less time than inc's hold
// lasts: that window, when it frees the alert, and the alert's key.
func (p *Pipeline) sooner(inc *klaxon.Incident, alerts []klaxon.Alert, now time.Time) (window string, until time.Time, key string, ok bool) {
	if !p.isHeld(inc, now) {
		return "", time.Time{}, "", false
	}
	until = inc.Escalation.NextAt
	for _, a := range alerts {
		if a.Status != klaxon.Firing {
			continue
		}
		if w, u, held := p.hold(a.Labels, now); held && u.Before(until) {
			window, until, key = w, u, a.Key
		}
	}
	return window, until, key, key != ""
}

// unheld reports whether inc is held by a maintenance window and one of
// alerts fires that no window holds; key is that alert's.
func (p *Pipeline) unheld(inc *klaxon.Incident, alerts []klaxon.Alert, now time.Time) (key string, ok bool) {
	if !p.isHeld(inc, now) {
		return "", false
	}
	for _, a := range alerts {
		if a.Status != klaxon.Firing {
			continue
		}
		if _, _, held := p.hold(a.Labels, now); !held {
			return a.Key, true
		}
	}
	return "", false
}

// silence returns tmpl with the alerts that a maintenance window holds,
// of those that could raise the urgency of open, or of the incident
// alerts open (firing, of high urgency, into an incident of low urgency
// whose route sets none): a window that silences an alert silences what
// it would page.
func (p *Pipeline) silence(tmpl incident.Template, open *klaxon.Incident, alerts []klaxon.Alert, now time.Time) incident.Template {
	if p.hold == nil || tmpl.Urgency != "" {
		return tmpl
	}
	if open == nil {
		// The first firing alert opens the incident, of its urgency.
		i := slices.IndexFunc(alerts, func(a klaxon.Alert) bool { return a.Status == klaxon.Firing })
		if i < 0 || klaxon.UrgencyOf(alerts[i].Severity) == klaxon.UrgencyHigh {
			return tmpl
		}
	} else if open.Urgency != klaxon.UrgencyLow {
		return tmpl
	}
	for _, a := range alerts {
		if a.Status != klaxon.Firing || klaxon.UrgencyOf(a.Severity) != klaxon.UrgencyHigh {
			continue
		}
		if _, _, held := p.hold(a.Labels, now); held {
			if tmpl.Silenced == nil {
				tmpl.Silenced = map[string]bool{}
			}
			tmpl.Silenced[a.Key] = true
		}
	}
	return tmpl
}
