package review

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/klaxonhq/klaxon"
)

// ChangeWindow is how long before its incident opened a review looks for
// the change events of its integrations.
const ChangeWindow = 24 * time.Hour

// MaxChangeRows bounds the changes a review lists: the newest.
const MaxChangeRows = 20

// ChangeReader reads change events: klaxon.ChangeStore's Changes.
type ChangeReader interface {
	Changes(ctx context.Context, integration string, from, to time.Time, limit int) ([]klaxon.Change, error)
}

// Changes are what a review lists under "Changes before": the change
// events of the integrations of the incident's alerts, in the
// ChangeWindow before it opened.
type Changes struct {
	// Integrations are those of the incident's alerts, sorted.
	Integrations []string `json:"integrations"`
	// List holds the newest MaxChangeRows changes of the window, newest
	// first; More says that the window held more.
	List []klaxon.Change `json:"list"`
	More bool            `json:"more,omitempty"`
}

// integrations collects the integrations of the alerts that a timeline
// names: each alert's key is scoped by its integration (klaxon.AlertKey:
// "integration/id").
type integrations map[string]bool

func (in integrations) add(e klaxon.Event) {
	if name, _, ok := strings.Cut(e.Alert, "/"); ok && name != "" {
		in[name] = true
	}
}

// Integrations are the integrations of the alerts that events name,
// sorted: those whose changes the review of their incident lists.
func Integrations(events []klaxon.Event) []string {
	in := integrations{}
	for _, e := range events {
		in.add(e)
	}
	return in.sorted()
}

func (in integrations) sorted() []string {
	out := make([]string, 0, len(in))
	for name := range in {
		out = append(out, name)
	}
	slices.Sort(out)
	return out
}

// ReadChanges reads the changes of each of integrations whose time is in
// the ChangeWindow before inc opened (its opening included), and keeps
// the newest MaxChangeRows of them all.
func ReadChanges(ctx context.Context, cr ChangeReader, inc *klaxon.Incident, integrations []string) (Changes, error) {
	out := Changes{Integrations: integrations}
	from, to := inc.CreatedAt.Add(-ChangeWindow), inc.CreatedAt
	for _, name := range integrations {
		list, err := cr.Changes(ctx, name, from, to, MaxChangeRows+1)
		if err != nil {
			return Changes{}, fmt.Errorf("changes of %s before incident %s: %w", name, inc.ID, err)
		}
		out.List = append(out.List, list...)
	}
	slices.SortStableFunc(out.List, func(a, b klaxon.Change) int {
		return cmp.Or(b.At.Compare(a.At), strings.Compare(a.Integration, b.Integration))
	})
	if len(out.List) > MaxChangeRows {
		out.List, out.More = out.List[:MaxChangeRows], true
	}
	return out, nil
}

// changes writes the section "Changes before": the changes of the
// incident's integrations before it opened, with how long before it
// each came.
func (r *review) changes() {
	ch := r.changed
	if ch == nil {
		return
	}
	r.b.WriteString("## Changes before\n\n")
	if len(ch.Integrations) == 0 {
		r.b.WriteString("No alert of the incident names its integration, so no change events are listed.\n\n")
		return
	}
	names := make([]string, len(ch.Integrations))
	for i, name := range ch.Integrations {
		names[i] = escape(name)
	}
	of := fmt.Sprintf("received on %s in the %d hours before the incident opened", strings.Join(names, ", "), ChangeWindow/time.Hour)
	if len(ch.List) == 0 {
		r.b.WriteString("No change events were " + of + ".\n\n")
		return
	}
	r.b.WriteString("Change events " + of + ", newest first.\n\n")
	rows := make([][]string, 0, len(ch.List))
	for _, c := range ch.List {
		links := make([]string, 0, len(c.Links))
		for _, l := range c.Links {
			if l.Text != "" {
				links = append(links, l.Text+": "+l.Href)
			} else {
				links = append(links, l.Href)
			}
		}
		rows = append(rows, []string{r.clock.at(c.At), since(c.At, r.inc.CreatedAt).String(), text(c.Integration),
			text(c.Summary), text(c.Source), text(strings.Join(links, "\n"))})
	}
	r.table([]string{"When", "Before opening", "Integration", "Change", "Source", "Links"}, rows, "changes")
	if ch.More {
		r.b.WriteString(fmt.Sprintf("Only the newest %d are listed.\n\n", MaxChangeRows))
	}
}
