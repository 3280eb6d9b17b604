package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/config"
	"github.com/klaxonhq/klaxon/ingest"
	"github.com/klaxonhq/klaxon/route"
	"github.com/klaxonhq/klaxon/schedule"
)

// routeTest runs `klaxon route test [--config FILE] [--at TIME]
// label=value...`: where an alert with these labels goes and who each
// step would page, from the config alone (runtime overrides, which live in
// the store, are not known here).
func routeTest(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("klaxon route test", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := configFlag(fs)
	at := newTimeFlag(time.Now(), "now")
	fs.Var(at, "at", "when the alert fires: "+timeHelp+"; a wall time is in the local time zone")
	severity := fs.String("severity", "", "the alert's severity where its sender gives it apart from its labels (Datadog's alert_type mapped, PagerDuty's payload.severity); default: its severity label")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) < 1 || pos[0] != "test" {
		fmt.Fprintln(stderr, "usage: klaxon route test [--config FILE] [--at TIME] [--severity S] label=value...")
		return errUsage
	}
	labels := map[string]string{}
	for _, kv := range pos[1:] {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return fail(exitUsage, "label %q: want name=value", kv)
		}
		labels[k] = v
	}
	cfg, err := config.Load(*path, nil)
	if err != nil {
		return err
	}
	if ingest.BoundLabels(labels) {
		fmt.Fprintf(stdout, "labels:    cut to their bounds, as ingest cuts an alert's (see Alert bounds)\n")
	}
	// An integration's labels: in the config are added where the sender
	// set none, as ingest does, so that the route is the one its alerts
	// take: its severity label only to an alert that came without a
	// severity, which --severity gives as the sender's decoder does.
	a := klaxon.Alert{Key: "DEDUP_KEY", Integration: labels[klaxon.LabelIntegration], Labels: maps.Clone(labels), Severity: *severity}
	a.Label(cfg.Table.Labels(a.Integration))
	if len(a.Labels) > len(labels) {
		var added []string
		for k, v := range a.Labels {
			if _, ok := labels[k]; !ok {
				added = append(added, k+"="+v)
			}
		}
		slices.Sort(added)
		fmt.Fprintf(stdout, "labels:    %s added by integration %s\n", strings.Join(added, " "), a.Integration)
	}
	labels = a.Labels
	book := schedule.NewBook(cfg.Schedules, nil)
	tmpl, err := cfg.Table.Route(&a)
	if err != nil {
		return err
	}
	r := cfg.Table.Match(labels)
	if r.Alone(labels) {
		tmpl.Group += fmt.Sprintf(" (none of group_by %v is set: the alert is a group of its own, keyed by its dedup key)", r.GroupBy)
	}
	urgency := tmpl.Urgency
	if urgency == "" {
		// --severity, else the severity label (the sender's or the
		// integration's), as Label left it.
		urgency = klaxon.UrgencyOf(a.Severity)
	}
	p := tmpl.Policy
	fmt.Fprintf(stdout, "route:     %s\n", r.ID)
	fmt.Fprintf(stdout, "policy:    %s (repeat %d, ack_timeout %s)\n", p.Name, p.Repeat, p.AckTimeout)
	fmt.Fprintf(stdout, "group key: %s\n", tmpl.Group)
	fmt.Fprintf(stdout, "urgency:   %s\n", urgency)
	t := at.in(time.Local)
	if w, until, held := route.Silence(labels, t, cfg.Maintenance); held {
		// Runtime windows live in the store: klaxon maintenance list.
		fmt.Fprintf(stdout, "maintenance: %s holds the first page until %s\n", w.Name, until.In(time.Local).Format("Mon 2006-01-02 15:04 MST"))
		t = until.In(time.Local)
	}
	reached := false
	for i, step := range p.Steps {
		fmt.Fprintf(stdout, "step %d at %s:\n", i+1, t.Format("Mon 2006-01-02 15:04 MST"))
		paged := false
		for _, target := range step.Targets {
			ids := []string{target.Name}
			if target.Kind == klaxon.TargetSchedule {
				if ids, err = book.OnCall(context.Background(), target.Name, t); err != nil {
					return err
				}
			}
			var who []string
			for _, id := range ids {
				rs := rules(cfg.Users[id], urgency)
				paged = paged || rs != noRule
				who = append(who, id+" by "+rs)
			}
			if len(who) == 0 {
				who = []string{"nobody"}
			}
			fmt.Fprintf(stdout, "  %s: %s\n", target, strings.Join(who, "; "))
		}
		if !paged {
			// As the engine walks: the next step pages at once.
			fmt.Fprintln(stdout, "  (reaches nobody: the next step pages at once)")
			continue
		}
		reached = true
		t = t.Add(step.EscalateAfter)
	}
	if !reached && len(p.Steps) > 0 {
		if len(cfg.Fallback) == 0 {
			fmt.Fprintf(stdout, "fallback at %s: none is set; nobody is paged\n", t.Format("Mon 2006-01-02 15:04 MST"))
			return nil
		}
		fmt.Fprintf(stdout, "fallback at %s (every step reached nobody):\n", t.Format("Mon 2006-01-02 15:04 MST"))
		for _, id := range cfg.Fallback {
			fmt.Fprintf(stdout, "  user:%s: %s by %s\n", id, id, rules(cfg.Users[id], urgency))
		}
	}
	return nil
}

// noRule is what rules says of a user with no rule for an urgency.
const noRule = "nothing (no rule for this urgency)"

// rules describes the notification rules of u that apply to urgency.
func rules(u klaxon.User, urgency klaxon.Urgency) string {
	var out []string
	for _, r := range u.Notify {
		if r.Applies(urgency) {
			out = append(out, fmt.Sprintf("%s at %s", r.Via, r.After))
		}
	}
	if len(out) == 0 {
		return noRule
	}
	return strings.Join(out, ", ")
}
