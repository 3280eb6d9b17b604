package storetest

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon"
	"github.com/stretchr/testify/require"
	"golang.org/x/sync/errgroup"
)

func testIncidentGet(t *testing.T, open func() klaxon.Store) {
	s := connect(t, open)
	ctx := t.Context()
	inc := create(t, s, "g", klaxon.StateAcknowledged)

	got, err := s.Incident(ctx, inc.ID)
	require.NoError(t, err)
	require.Equal(t, inc, got)

	_, err = s.Incident(ctx, "424242")
	require.ErrorIs(t, err, klaxon.ErrNotFound)
	require.ErrorContains(t, err, "424242", "the error names the missing incident")
}

// olderThan keeps the IDs of list, newest first, that are older than id.
func olderThan(list []string, id string) []string {
	n, _ := strconv.Atoi(id)
	var out []string
	for _, v := range list {
		if m, _ := strconv.Atoi(v); m < n {
			out = append(out, v)
		}
	}
	return out
}

// next is the ID after id.
func next(id string) string {
	n, _ := strconv.Atoi(id)
	return strconv.Itoa(n + 1)
}

func testIncidentList(t *testing.T, open func() klaxon.Store) {
	s := connect(t, open)
	ctx := t.Context()
	// Twelve incidents, so that IDs pass from one digit to two: newest
	// first means "12" before "9".
	states := []klaxon.State{klaxon.StateTriggered, klaxon.StateAcknowledged, klaxon.StateResolved}
	byState := map[klaxon.State][]string{}
	var all []string
	for i := range 12 {
		state := states[i%3]
		inc := create(t, s, fmt.Sprintf("g%d", i), state)
		byState[state] = append([]string{inc.ID}, byState[state]...)
		all = append([]string{inc.ID}, all...)
	}
	openIDs := newestFirst(byState[klaxon.StateTriggered], byState[klaxon.StateAcknowledged])

	tests := []struct {
		name   string
		filter klaxon.IncidentFilter
		want   []string
	}{
		{"zero filter lists open", klaxon.IncidentFilter{}, openIDs},
		{"triggered", klaxon.IncidentFilter{States: []klaxon.State{klaxon.StateTriggered}}, byState[klaxon.StateTriggered]},
		{"resolved", klaxon.IncidentFilter{States: []klaxon.State{klaxon.StateResolved}}, byState[klaxon.StateResolved]},
		{"every state", klaxon.IncidentFilter{States: states}, all},
		{"limit", klaxon.IncidentFilter{Limit: 3}, openIDs[:3]},
		{"limit with states", klaxon.IncidentFilter{States: states, Limit: 5}, all[:5]},
		{"limit above count", klaxon.IncidentFilter{Limit: 100}, openIDs},
		{"before", klaxon.IncidentFilter{Before: openIDs[2], Limit: 3}, openIDs[3:6]},
		{"before, with states", klaxon.IncidentFilter{States: states, Before: all[4], Limit: 5}, all[5:10]},
		{"before, to the end", klaxon.IncidentFilter{States: states, Before: all[9]}, all[10:]},
		{"before the oldest", klaxon.IncidentFilter{Before: openIDs[len(openIDs)-1]}, []string{}},
		// An ID of no incident of the states listed: a resolved one, the
		// ID after the newest, one of two digits more.
		{"before a resolved one", klaxon.IncidentFilter{Before: byState[klaxon.StateResolved][0]}, olderThan(openIDs, byState[klaxon.StateResolved][0])},
		{"before a newer one", klaxon.IncidentFilter{Before: next(all[0]), Limit: 2}, openIDs[:2]},
		{"before a far newer one", klaxon.IncidentFilter{States: states, Before: all[0] + "00", Limit: 1}, all[:1]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			list, err := s.Incidents(ctx, tt.filter)
			require.NoError(t, err)
			require.Equal(t, tt.want, IDs(list))
		})
	}

	t.Run("by policy and urgency, before the limit", func(t *testing.T) {
		// The oldest open incident is the only one of its policy: a
		// filter that counted before keeping would miss it.
		oldest := openIDs[len(openIDs)-1]
		inc, err := s.Incident(ctx, oldest)
		require.NoError(t, err)
		g, err := s.Group(ctx, inc.Group, nil)
		require.NoError(t, err)
		inc.Policy.Name, inc.Urgency = "payments", klaxon.UrgencyHigh
		require.NoError(t, s.Commit(ctx, klaxon.Commit{Group: inc.Group, Version: g.Version, Open: oldest, Incidents: []*klaxon.Incident{inc}}))
		for name, f := range map[string]klaxon.IncidentFilter{
			"policy":            {Policy: "payments", Limit: 1},
			"urgency":           {Urgency: klaxon.UrgencyHigh, Limit: 1},
			"both, every state": {States: states, Policy: "payments", Urgency: klaxon.UrgencyHigh, Limit: 2},
		} {
			list, err := s.Incidents(ctx, f)
			require.NoError(t, err, name)
			require.Equal(t, []string{oldest}, IDs(list), name)
		}
		list, err := s.Incidents(ctx, klaxon.IncidentFilter{Policy: "payments", Urgency: klaxon.UrgencyLow})
		require.NoError(t, err)
		require.Empty(t, list)
	})

	t.Run("resolving leaves the open list", func(t *testing.T) {
		newest := openIDs[0]
		inc, err := s.Incident(ctx, newest)
		require.NoError(t, err)
		g, err := s.Group(ctx, inc.Group, nil)
		require.NoError(t, err)
		inc.State, inc.ResolvedAt = klaxon.StateResolved, t0
		require.NoError(t, s.Commit(ctx, klaxon.Commit{Group: inc.Group, Version: g.Version, Incidents: []*klaxon.Incident{inc}}))

		list, err := s.Incidents(ctx, klaxon.IncidentFilter{})
		require.NoError(t, err)
		require.Equal(t, openIDs[1:], IDs(list))
		got, err := s.Incident(ctx, newest)
		require.NoError(t, err)
		require.Equal(t, klaxon.StateResolved, got.State)
		list, err = s.Incidents(ctx, klaxon.IncidentFilter{States: []klaxon.State{klaxon.StateResolved}})
		require.NoError(t, err)
		require.Equal(t, newestFirst(byState[klaxon.StateResolved], []string{newest}), IDs(list))
	})
}

// newestFirst merges lists of decimal IDs, largest first.
func newestFirst(lists ...[]string) []string {
	out := slices.Concat(lists...)
	n := func(id string) uint64 { v, _ := strconv.ParseUint(id, 10, 64); return v }
	slices.SortFunc(out, func(a, b string) int { return cmp.Compare(n(b), n(a)) })
	return out
}

// testIncidentIDs allocates IDs concurrently, then again after a reopen:
// none repeats, and they grow.
func testIncidentIDs(t *testing.T, open func() klaxon.Store) {
	const workers, each = 8, 50
	s := connect(t, open)
	var (
		mu   sync.Mutex
		seen = map[string]bool{}
		top  uint64
		eg   errgroup.Group
	)
	for range workers {
		eg.Go(func() error {
			for range each {
				id, err := s.NextIncidentID(t.Context())
				if err != nil {
					return err
				}
				n, err := strconv.ParseUint(id, 10, 64)
				if err != nil {
					return fmt.Errorf("id %q is not decimal: %w", id, err)
				}
				mu.Lock()
				if seen[id] {
					mu.Unlock()
					return fmt.Errorf("id %s handed out twice", id)
				}
				seen[id], top = true, max(top, n)
				mu.Unlock()
			}
			return nil
		})
	}
	require.NoError(t, eg.Wait())
	require.Len(t, seen, workers*each)
	require.NoError(t, s.Close())

	s = connect(t, open)
	id, err := s.NextIncidentID(t.Context())
	require.NoError(t, err)
	n, err := strconv.ParseUint(id, 10, 64)
	require.NoError(t, err)
	require.Greater(t, n, top, "an ID after reopen is new")
}

func testAlertIndex(t *testing.T, open func() klaxon.Store) {
	s := connect(t, open)
	ctx := t.Context()
	inc := incident("1", "g1", klaxon.StateTriggered)
	inc.Changed = nil
	for _, k := range []string{"am/a", "am/b", "am/c"} {
		inc.Changed = append(inc.Changed, klaxon.AlertState{Alert: klaxon.Alert{Key: k, Status: klaxon.Firing}, Count: 1})
	}
	var moved []klaxon.Move
	require.NoError(t, s.Commit(ctx, klaxon.Commit{Group: "g1", Version: 0, Open: "1", Incidents: []*klaxon.Incident{inc}, Index: []string{"am/a", "am/b", "am/c"}, Moved: &moved}))
	require.Empty(t, moved, "no key was indexed before")
	require.NoError(t, s.Commit(ctx, klaxon.Commit{Group: "g2", Version: 0, Index: []string{"dd/d"}}))

	groups, err := s.AlertGroups(ctx, []string{"am/a", "am/b", "am/c", "dd/d", "am/x"})
	require.NoError(t, err)
	require.Equal(t, map[string]string{"am/a": "g1", "am/b": "g1", "am/c": "g1", "dd/d": "g2"}, groups)

	groups, err = s.AlertGroups(ctx, nil)
	require.NoError(t, err)
	require.Empty(t, groups)

	// Indexing a key again moves it to the committing group, and the
	// commit tells where from.
	require.NoError(t, s.Commit(ctx, klaxon.Commit{Group: "g2", Version: 1, Index: []string{"dd/e", "am/a"}, Moved: &moved}))
	require.Equal(t, []klaxon.Move{{Alert: "am/a", From: "g1", Group: "g2"}}, moved)
	groups, err = s.AlertGroups(ctx, []string{"am/a"})
	require.NoError(t, err)
	require.Equal(t, map[string]string{"am/a": "g2"}, groups)

	// Resolving the open incident unindexes its alerts, but for the one
	// that moved to another group since.
	inc = header(inc)
	inc.State = klaxon.StateResolved
	require.NoError(t, s.Commit(ctx, klaxon.Commit{Group: "g1", Version: 1, Incidents: []*klaxon.Incident{inc}}))
	groups, err = s.AlertGroups(ctx, []string{"am/a", "am/b", "am/c", "dd/d"})
	require.NoError(t, err)
	require.Equal(t, map[string]string{"am/a": "g2", "dd/d": "g2"}, groups)

	// One commit resolves the open incident and opens the next, which
	// indexes an alert the first held: it stays indexed.
	again := incident("3", "g2", klaxon.StateTriggered)
	again.Changed = []klaxon.AlertState{{Alert: klaxon.Alert{Key: "am/a", Status: klaxon.Firing}, Count: 1}}
	moved = nil
	require.NoError(t, s.Commit(ctx, klaxon.Commit{Group: "g2", Version: 2, Open: "3", Incidents: []*klaxon.Incident{again}, Index: []string{"am/a"}, Moved: &moved}))
	require.Empty(t, moved, "a key the group indexed already did not move")
	closed := header(again)
	closed.State = klaxon.StateResolved
	next := incident("4", "g2", klaxon.StateTriggered)
	next.Changed = []klaxon.AlertState{{Alert: klaxon.Alert{Key: "am/a", Status: klaxon.Firing}, Count: 1}}
	require.NoError(t, s.Commit(ctx, klaxon.Commit{Group: "g2", Version: 3, Open: "4", Incidents: []*klaxon.Incident{closed, next}, Index: []string{"am/a"}, Moved: &moved}))
	require.Empty(t, moved, "unindexed and indexed again by the same group")
	groups, err = s.AlertGroups(ctx, []string{"am/a"})
	require.NoError(t, err)
	require.Equal(t, map[string]string{"am/a": "g2"}, groups)

	// An incident of a storm resolves: each of its 2,500 alerts leaves
	// the index, a thousand at a time, but the one that moved, by the
	// time the commit returns.
	big := incident("5", "g3", klaxon.StateTriggered)
	keys := make([]string, 2_500)
	for i := range keys {
		keys[i] = fmt.Sprintf("big/%d", i)
		big.Changed = append(big.Changed, klaxon.AlertState{Alert: klaxon.Alert{Key: keys[i], Status: klaxon.Firing}, Count: 1})
	}
	big.AlertCount, big.FiringCount = len(big.Changed), len(big.Changed)
	require.NoError(t, s.Commit(ctx, klaxon.Commit{Group: "g3", Version: 0, Open: "5", Incidents: []*klaxon.Incident{big}, Index: keys}))
	require.NoError(t, s.Commit(ctx, klaxon.Commit{Group: "g2", Version: 4, Open: "4", Index: []string{"big/1500"}}))
	big = header(big)
	big.State = klaxon.StateResolved
	require.NoError(t, s.Commit(ctx, klaxon.Commit{Group: "g3", Version: 1, Incidents: []*klaxon.Incident{big}}))
	groups, err = s.AlertGroups(ctx, keys)
	require.NoError(t, err)
	require.Equal(t, map[string]string{"big/1500": "g2"}, groups)
}

// alertRecord is alert key as an incident holds it, seen n times.
func alertRecord(key string, n int) klaxon.AlertState {
	return klaxon.AlertState{
		Alert:     klaxon.Alert{Key: key, Integration: "am", Status: klaxon.Firing, Summary: "disk full on " + key, StartsAt: t0},
		Count:     n,
		FirstSeen: t0,
		LastSeen:  t0.Add(time.Duration(n) * time.Second),
	}
}

// testAlertRecords commits alerts in two commits, and reads back by key
// exactly those the open incident holds, as last written.
func testAlertRecords(t *testing.T, open func() klaxon.Store) {
	s := connect(t, open)
	ctx := t.Context()
	inc := incident("1", "g", klaxon.StateTriggered)
	inc.Changed = []klaxon.AlertState{alertRecord("am/a", 1), alertRecord("am/b", 1)}
	require.NoError(t, s.Commit(ctx, klaxon.Commit{Group: "g", Open: "1", Incidents: []*klaxon.Incident{inc}}))

	inc = header(inc)
	inc.Changed = []klaxon.AlertState{alertRecord("am/a", 2), alertRecord("am/c", 1)}
	require.NoError(t, s.Commit(ctx, klaxon.Commit{Group: "g", Version: 1, Open: "1", Incidents: []*klaxon.Incident{inc}}))
	all, _, err := s.IncidentAlerts(ctx, "1", "", 10)
	require.NoError(t, err)
	require.Equal(t, []klaxon.AlertState{alertRecord("am/a", 2), alertRecord("am/b", 1), alertRecord("am/c", 1)}, all)

	g, err := s.Group(ctx, "g", []string{"am/a", "am/c", "am/x"})
	require.NoError(t, err)
	a2, c1 := alertRecord("am/a", 2), alertRecord("am/c", 1)
	require.Equal(t, map[string]klaxon.Seen{"am/a": a2.Seen(), "am/c": c1.Seen()}, unstored(g.Alerts))
	// The map is the caller's: changing it changes no later read.
	delete(g.Alerts, "am/a")
	g.Alerts["am/x"] = klaxon.Seen{Count: 9}
	g, err = s.Group(ctx, "g", []string{"am/a", "am/c", "am/x"})
	require.NoError(t, err)
	require.Equal(t, map[string]klaxon.Seen{"am/a": a2.Seen(), "am/c": c1.Seen()}, unstored(g.Alerts))
	g, err = s.Group(ctx, "g", nil)
	require.NoError(t, err)
	require.Empty(t, g.Alerts, "only the alerts asked for")

	// A closed incident's alerts are no group's any more.
	h := header(inc)
	h.State = klaxon.StateResolved
	require.NoError(t, s.Commit(ctx, klaxon.Commit{Group: "g", Version: 2, Incidents: []*klaxon.Incident{h}}))
	g, err = s.Group(ctx, "g", []string{"am/a"})
	require.NoError(t, err)
	require.Nil(t, g.Open)
	require.Empty(t, g.Alerts)
}

// testAlertDetails commits an alert again and again, with its labels,
// annotations and links the same or changed, and back: each time it reads
// back as last written.
func testAlertDetails(t *testing.T, open func() klaxon.Store) {
	s := connect(t, open)
	ctx := t.Context()
	a := alertRecord("am/a", 1)
	a.Labels = map[string]string{"alertname": "DiskFull", "team": "storage"}
	a.Annotations = map[string]string{"runbook_url": "https://runbooks.example.com/disk"}
	a.URL = "http://prometheus/graph"
	again := a
	again.Count, again.LastSeen = 2, a.LastSeen.Add(time.Minute)
	moved := again
	moved.Labels = map[string]string{"alertname": "DiskFull", "team": "platform"}
	moved.Annotations, moved.URL = nil, ""
	back := moved
	back.Labels, back.Annotations, back.URL = a.Labels, a.Annotations, a.URL
	resolved := back
	resolved.Status, resolved.EndsAt = klaxon.Resolved, t0.Add(time.Hour)

	inc := incident("1", "g", klaxon.StateTriggered)
	var stored uint64 // what the last read said the store holds, as a fold carries it
	for v, want := range []klaxon.AlertState{a, again, moved, back, resolved} {
		inc = header(inc)
		folded := want
		folded.Stored = stored
		inc.Changed = []klaxon.AlertState{folded}
		require.NoError(t, s.Commit(ctx, klaxon.Commit{Group: "g", Version: uint64(v), Open: "1", Incidents: []*klaxon.Incident{inc}}))
		got, _, err := s.IncidentAlerts(ctx, "1", "", 10)
		require.NoError(t, err)
		require.Equal(t, []klaxon.AlertState{want}, got, "commit %d", v+1)
		g, err := s.Group(ctx, "g", []string{"am/a"})
		require.NoError(t, err)
		require.Equal(t, want.Seen(), unstored(g.Alerts)["am/a"], "commit %d", v+1)
		stored = g.Alerts["am/a"].Stored
	}

	// A partial record (a resolve that said only that) keeps the stored
	// labels, annotations, source, link and end.
	partial := klaxon.AlertState{
		Alert: klaxon.Alert{Key: "am/a", Integration: "am", Status: klaxon.Firing, Summary: resolved.Summary,
			StartsAt: resolved.StartsAt, Partial: true},
		Count: 3, FirstSeen: resolved.FirstSeen, LastSeen: resolved.LastSeen.Add(time.Minute),
	}
	inc = header(inc)
	inc.Changed = []klaxon.AlertState{partial}
	require.NoError(t, s.Commit(ctx, klaxon.Commit{Group: "g", Version: 5, Open: "1", Incidents: []*klaxon.Incident{inc}}))
	got, _, err := s.IncidentAlerts(ctx, "1", "", 10)
	require.NoError(t, err)
	want := resolved
	want.Status, want.Count, want.LastSeen = klaxon.Firing, 3, partial.LastSeen
	require.Equal(t, []klaxon.AlertState{want}, got)
}

// testAlertPages reads the alerts of an incident page by page, a small
// incident's and a large one's, in pages of several sizes: each alert
// comes once, each page holds the limit asked but the last, which holds
// at least one, and the pages end.
func testAlertPages(t *testing.T, open func() klaxon.Store) {
	s := connect(t, open)
	ctx := t.Context()
	for _, tt := range []struct {
		id    string
		n     int
		limit []int
	}{
		{"1", 1200, []int{100, 7, 1000, 1200, 2000}},
		{"2", 30, []int{7, 10, 29, 30, 100}},
	} {
		inc := incident(tt.id, "g"+tt.id, klaxon.StateTriggered)
		inc.Changed = nil
		want := map[string]klaxon.AlertState{}
		for i := range tt.n {
			a := alertRecord(fmt.Sprintf("am/%04d:x", i), 1) // a colon in the key
			inc.Changed = append(inc.Changed, a)
			want[a.Key] = a
		}
		require.NoError(t, s.Commit(ctx, klaxon.Commit{Group: "g" + tt.id, Open: tt.id, Incidents: []*klaxon.Incident{inc}}))

		for _, limit := range tt.limit {
			t.Run(fmt.Sprintf("%d alerts, pages of %d", tt.n, limit), func(t *testing.T) {
				got := map[string]klaxon.AlertState{}
				cursor, pages, last := "", 0, ""
				for {
					page, next, err := s.IncidentAlerts(ctx, tt.id, cursor, limit)
					require.NoError(t, err)
					pages++
					if next != "" {
						require.Len(t, page, limit, "a page but the last holds the limit")
					} else {
						require.NotEmpty(t, page, "no empty last page")
					}
					for _, a := range page {
						require.NotContains(t, got, a.Key, "an alert on two pages")
						require.Greater(t, a.Key, last, "in the order of their keys")
						got[a.Key], last = a, a.Key
					}
					if next == "" {
						break
					}
					require.Less(t, pages, tt.n, "the pages end")
					cursor = next
				}
				require.Equal(t, want, got)
				require.Equal(t, (tt.n+limit-1)/limit, pages)
			})
		}
	}

	t.Run("alerts join between pages", func(t *testing.T) {
		// Read while a storm adds to the incident, which on Redis makes
		// its hash grow into a larger table: every alert it held from the
		// start comes once.
		inc := incident("3", "g3", klaxon.StateTriggered)
		inc.Changed = nil
		for i := range 300 {
			inc.Changed = append(inc.Changed, alertRecord(fmt.Sprintf("am/%04d", i), 1))
		}
		require.NoError(t, s.Commit(ctx, klaxon.Commit{Group: "g3", Open: "3", Incidents: []*klaxon.Incident{inc}}))
		version := uint64(1)
		got := map[string]int{}
		cursor, pages := "", 0
		for {
			page, next, err := s.IncidentAlerts(ctx, "3", cursor, 50)
			require.NoError(t, err)
			pages++
			for _, a := range page {
				got[a.Key]++
			}
			if next == "" {
				break
			}
			if pages <= 3 {
				more := incident("3", "g3", klaxon.StateTriggered)
				more.Changed = nil
				for i := range 1000 {
					more.Changed = append(more.Changed, alertRecord(fmt.Sprintf("am/%d-%04d", pages, i), 1))
				}
				require.NoError(t, s.Commit(ctx, klaxon.Commit{Group: "g3", Version: version, Open: "3", Incidents: []*klaxon.Incident{more}}))
				version++
			}
			cursor = next
		}
		for i := range 300 {
			require.Equal(t, 1, got[fmt.Sprintf("am/%04d", i)], "am/%04d", i)
		}
		for k, n := range got {
			require.Equal(t, 1, n, "%s came %d times", k, n)
		}
	})

	_, _, err := s.IncidentAlerts(ctx, "424242", "", 10)
	require.ErrorIs(t, err, klaxon.ErrNotFound)
}

// testTimeline appends events over commits, also to a closed incident,
// and reads them in order, by offset, with all they say.
func testTimeline(t *testing.T, open func() klaxon.Store) {
	s := connect(t, open)
	ctx := t.Context()
	inc := incident("1", "g", klaxon.StateTriggered)
	want := slices.Clone(inc.Recorded)
	require.NoError(t, s.Commit(ctx, klaxon.Commit{Group: "g", Open: "1", Incidents: []*klaxon.Incident{inc}}))
	for i := range 3 {
		inc = header(inc)
		for j := range 40 {
			inc.Record(klaxon.Event{At: t0.Add(time.Duration(i*40+j) * time.Second), Kind: klaxon.EventAlertJoined, Alert: fmt.Sprintf("am/%d", i*40+j)})
		}
		if i == 2 {
			// Who acted, and the API token they acted through.
			inc.Record(klaxon.Actor{By: "alice", How: "api", ViaToken: "ops"}.Event(t0.Add(time.Hour), klaxon.EventResolved))
			inc.State = klaxon.StateResolved
		}
		want = append(want, inc.Recorded...)
		require.NoError(t, s.Commit(ctx, klaxon.Commit{Group: "g", Version: uint64(i + 1), Incidents: []*klaxon.Incident{inc}, Open: map[bool]string{true: "1"}[i < 2]}))
	}
	var got []klaxon.Event
	for off := 0; ; off += 50 {
		page, total, err := s.Timeline(ctx, "1", off, 50)
		require.NoError(t, err)
		require.Equal(t, len(want), total)
		if len(page) == 0 {
			break
		}
		got = append(got, page...)
	}
	require.Equal(t, want, got)
	h, err := s.Incident(ctx, "1")
	require.NoError(t, err)
	require.Equal(t, header(inc), h, "the header holds no events")

	_, _, err = s.Timeline(ctx, "424242", 0, 10)
	require.ErrorIs(t, err, klaxon.ErrNotFound)
}

// unstored is alerts without Seen.Stored, which is each store's own word
// for what it holds of an alert: a copy.
func unstored(alerts map[string]klaxon.Seen) map[string]klaxon.Seen {
	if alerts == nil {
		return nil
	}
	out := make(map[string]klaxon.Seen, len(alerts))
	for k, s := range alerts {
		s.Stored = 0
		out[k] = s
	}
	return out
}
