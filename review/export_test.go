package review_test

import (
	"context"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/review"
)

// timelineStore is a store of one incident and its timeline, which
// Export reads a page at a time.
type timelineStore struct {
	inc    *klaxon.Incident
	events []klaxon.Event
	pages  int
}

func (s *timelineStore) Incidents(context.Context, klaxon.IncidentFilter) ([]*klaxon.Incident, error) {
	return []*klaxon.Incident{s.inc}, nil
}

func (s *timelineStore) Incident(_ context.Context, id string) (*klaxon.Incident, error) {
	if id != s.inc.ID {
		return nil, klaxon.ErrNotFound
	}
	return s.inc, nil
}

func (s *timelineStore) Timeline(_ context.Context, _ string, offset, limit int) ([]klaxon.Event, int, error) {
	s.pages++
	end := min(offset+limit, len(s.events))
	return append([]klaxon.Event(nil), s.events[offset:end]...), len(s.events), nil
}

// TestExportStorm: Export reads the timeline of a storm's incident a page
// at a time and writes the review that Markdown writes of the whole
// timeline, alerts' events counted, seconds and all.
func TestExportStorm(t *testing.T) {
	t0 := time.Date(2026, 11, 23, 22, 0, 0, 0, time.UTC)
	inc := &klaxon.Incident{ID: "42", Summary: "storm", State: klaxon.StateTriggered, CreatedAt: t0, AlertCount: 100_000}
	events := []klaxon.Event{{At: t0, Kind: klaxon.EventTriggered, Alert: "am/0"}}
	for i := 1; i < 100_000; i++ {
		at := t0.Add(time.Duration(i) * time.Minute / 1000)
		events = append(events, klaxon.Event{At: at, Kind: klaxon.EventAlertJoined, Alert: "am/" + strconv.Itoa(i)})
		if i%10_000 == 0 {
			events = append(events, klaxon.Event{At: at, Kind: klaxon.EventPageSent, User: "alice", Via: "sms", Notification: i / 10_000})
		}
	}
	st := &timelineStore{inc: inc, events: events}

	md, err := review.Export(context.Background(), st, nil, "42", time.UTC)
	require.NoError(t, err)
	require.Equal(t, review.Markdown(inc, events, nil, time.UTC), md)
	require.Contains(t, md, "99,949 more alert events until 2026-11-23 23:39:59 UTC")
	require.Greater(t, st.pages, 50, "read a page at a time")
	require.Less(t, len(md), 16<<10)
}

// stormStore makes a storm's timeline as Export reads it, a page at a
// time, without holding it, and notes the most heap in use, after a
// collection, at each read: what Export holds of the pages before.
type stormStore struct {
	inc      *klaxon.Incident
	total    int
	base     uint64
	mostHeap uint64
}

func (s *stormStore) Incidents(context.Context, klaxon.IncidentFilter) ([]*klaxon.Incident, error) {
	return []*klaxon.Incident{s.inc}, nil
}

func (s *stormStore) Incident(context.Context, string) (*klaxon.Incident, error) { return s.inc, nil }

func (s *stormStore) Timeline(_ context.Context, _ string, offset, limit int) ([]klaxon.Event, int, error) {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	s.mostHeap = max(s.mostHeap, m.HeapAlloc-min(m.HeapAlloc, s.base))
	var page []klaxon.Event
	for i := offset; i < min(offset+limit, s.total); i++ {
		page = append(page, klaxon.Event{At: s.inc.CreatedAt, Kind: klaxon.EventAlertJoined, Alert: "am/" + strconv.Itoa(i),
			Text: strings.Repeat("x", 2048)})
	}
	return page, s.total, nil
}

// TestExportHoldsLittle: the review of an incident of 20,000 alerts,
// whose timeline is 40 MB of alerts' events, holds a page of it at a
// time and the few events it lists, not the timeline: several reviews at
// once must not take the daemon's memory.
func TestExportHoldsLittle(t *testing.T) {
	t0 := time.Date(2026, 11, 23, 22, 0, 0, 0, time.UTC)
	st := &stormStore{inc: &klaxon.Incident{ID: "42", Summary: "storm", CreatedAt: t0, AlertCount: 20_000}, total: 20_000}
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	st.base = m.HeapAlloc

	md, err := review.Export(context.Background(), st, nil, "42", time.UTC)
	require.NoError(t, err)
	require.Contains(t, md, "19,950 more alert events")
	require.Less(t, st.mostHeap, uint64(8<<20), "held %d MB", st.mostHeap>>20)
}

// TestLoadStorm: the report of a window with a storm's incident reads its
// timeline a page at a time and counts its alerts' events, with the same
// figures as NewReport of the whole timeline, holding a page at a time.
func TestLoadStorm(t *testing.T) {
	t0 := time.Date(2026, 11, 23, 22, 0, 0, 0, time.UTC)
	inc := &klaxon.Incident{ID: "42", Summary: "storm", State: klaxon.StateResolved, CreatedAt: t0, AlertCount: 30_000,
		Labels: map[string]string{"service": "checkout"}}
	events := []klaxon.Event{{At: t0, Kind: klaxon.EventTriggered, Alert: "am/0", Text: "disk full"}}
	for i := 1; i < 30_000; i++ {
		at := t0.Add(time.Duration(i) * time.Millisecond)
		kind, text := klaxon.EventAlertJoined, "disk full"
		if i%3 == 0 {
			kind, text = klaxon.EventAlertRefired, "disk slow"
		}
		events = append(events, klaxon.Event{At: at, Kind: kind, Alert: "am/" + strconv.Itoa(i), Text: text})
		if i%5_000 == 0 {
			events = append(events, klaxon.Event{At: at, Kind: klaxon.EventPageSent, User: "alice", Via: "sms", Notification: i / 5_000})
		}
	}
	events = append(events,
		klaxon.Event{At: t0.Add(time.Minute), Kind: klaxon.EventAcknowledged, By: "alice", How: "sms"},
		klaxon.Event{At: t0.Add(2 * time.Minute), Kind: klaxon.EventResolved, By: "alice", How: "web"})
	o := review.Options{By: review.ByIntegration}

	got, truncated, err := review.Load(context.Background(), &timelineStore{inc: inc, events: events}, o)
	require.NoError(t, err)
	require.False(t, truncated)
	require.Equal(t, review.NewReport([]review.Incident{{Incident: inc, Timeline: events}}, o), got)
	require.Equal(t, []review.Noise{{Alert: "disk full", AlertEvents: 20_001}, {Alert: "disk slow", AlertEvents: 9_999}},
		got.Overall.NoisiestByAlerts)
	require.Equal(t, "am", got.Groups[0].Key, "the integration of its first alert")

	st := &stormStore{inc: &klaxon.Incident{ID: "42", Summary: "storm", CreatedAt: t0, AlertCount: 20_000}, total: 20_000}
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	st.base = m.HeapAlloc
	got, _, err = review.Load(context.Background(), st, review.Options{})
	require.NoError(t, err)
	require.Equal(t, 20_000, got.Overall.NoisiestByAlerts[0].AlertEvents, "the first kept, the rest counted")
	require.Less(t, st.mostHeap, uint64(8<<20), "held %d MB", st.mostHeap>>20)
}
