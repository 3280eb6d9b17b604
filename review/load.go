package review

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/klaxonhq/klaxon"
)

// Store reads incidents and their timelines: klaxon.Store's reads.
type Store interface {
	Incidents(ctx context.Context, f klaxon.IncidentFilter) ([]*klaxon.Incident, error)
	Incident(ctx context.Context, id string) (*klaxon.Incident, error)
	Timeline(ctx context.Context, id string, offset, limit int) ([]klaxon.Event, int, error)
}

// MaxIncidents bounds the incidents Load reads.
const MaxIncidents = 10_000

// Export is the review of incident id in Markdown (see Markdown). It
// reads the timeline a page at a time and keeps only the events the
// review lists: the review of an incident of 100,000 alerts holds a few
// hundred events, not its whole timeline. When st reads change events
// too (a ChangeReader, as klaxon.Store is), the review lists those of
// the integrations of the incident's alerts before it opened (see
// MarkdownChanges and ReadChanges).
func Export(ctx context.Context, st Store, users func(string) (klaxon.User, bool), id string, reader *time.Location) (string, error) {
	inc, err := st.Incident(ctx, id)
	if err != nil {
		return "", err
	}
	var (
		s    sifter
		kept []klaxon.Event
	)
	for read := 0; ; {
		page, total, err := st.Timeline(ctx, id, read, timelinePage)
		if err != nil {
			return "", err
		}
		kept = s.sift(kept, page)
		if read += len(page); len(page) == 0 || read >= total {
			break
		}
	}
	var changes *Changes
	if cr, ok := st.(ChangeReader); ok {
		ch, err := ReadChanges(ctx, cr, inc, s.integrations.sorted())
		if err != nil {
			return "", err
		}
		changes = &ch
	}
	return s.markdown(inc, kept, changes, users, reader), nil
}

// timelinePage is how many events Export reads at a time.
const timelinePage = 1000

// Load reads the incidents opened in o's window, with their timelines,
// and counts them (see NewReport). It reads the newest MaxIncidents
// incidents at most; truncated says that older ones of the window went
// unread.
func Load(ctx context.Context, st Store, o Options) (r Report, truncated bool, err error) {
	incs, err := st.Incidents(ctx, klaxon.IncidentFilter{States: klaxon.States(), Limit: MaxIncidents})
	if err != nil {
		return Report{}, false, fmt.Errorf("report: %w", err)
	}
	var history []Incident
	for _, inc := range incs {
		if inc.CreatedAt.Before(o.Since) || (!o.Until.IsZero() && !inc.CreatedAt.Before(o.Until)) {
			continue
		}
		h, err := readFolded(ctx, st, inc)
		if err != nil {
			return Report{}, false, fmt.Errorf("report: timeline of incident %s: %w", inc.ID, err)
		}
		history = append(history, h)
	}
	// The list is newest first: stopped at its limit inside the window,
	// it left older incidents of the window unread.
	truncated = len(incs) == MaxIncidents && !incs[len(incs)-1].CreatedAt.Before(o.Since)
	return NewReport(history, o), truncated, nil
}

// readFolded reads inc's timeline a page at a time, and keeps every
// event but the alerts' that only count: an alert joined or firing again,
// its own (not copied by a merge), after the first alert's event, which
// says the incident's integration. Those it counts by the name they
// count under. The report of a window with a storm's incident of 100,000
// alerts holds its people's events and a count, not 100,000 events.
func readFolded(ctx context.Context, st Store, inc *klaxon.Incident) (Incident, error) {
	h := Incident{Incident: inc}
	alert := false // an alert's event is kept
	for read := 0; ; {
		page, total, err := st.Timeline(ctx, inc.ID, read, timelinePage)
		if err != nil {
			return Incident{}, err
		}
		for _, e := range page {
			if alert && (e.Kind == klaxon.EventAlertJoined || e.Kind == klaxon.EventAlertRefired) &&
				e.From == "" && !strings.HasPrefix(e.Text, "#") {
				if h.counted == nil {
					h.counted = map[string]int{}
				}
				h.counted[alertName(inc, e.Text)]++
				continue
			}
			alert = alert || alertEvent(e)
			h.Timeline = append(h.Timeline, e)
		}
		if read += len(page); len(page) == 0 || read >= total {
			return h, nil
		}
	}
}

// Zone reads a reader's time zone by its IANA name, UTC for ""; the
// error, for the field tz, matches klaxon.ErrInvalid.
func Zone(name string) (*time.Location, error) {
	if name == "" {
		return time.UTC, nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil || name == "Local" {
		return nil, klaxon.Invalid("tz", "unknown time zone %q: want an IANA name, like Europe/Berlin", name)
	}
	return loc, nil
}
