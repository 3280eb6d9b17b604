package escalate_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/escalate"
	"github.com/klaxonhq/klaxon/incident"
	"github.com/klaxonhq/klaxon/internal/incidenttest"
	"github.com/klaxonhq/klaxon/internal/redistest"
	"github.com/klaxonhq/klaxon/store/redis"
)

var workT0 = time.Date(2026, 11, 27, 3, 0, 0, 0, time.UTC)

func timeline(t *testing.T, r *incidenttest.Rig, id string) []klaxon.Event {
	t.Helper()
	events, _, err := r.Store.Timeline(t.Context(), id, 0, 1000)
	require.NoError(t, err)
	return events
}

func TestNotesAndRoles(t *testing.T) {
	r := incidenttest.NewRig(t, workT0)
	id := r.Open(t, "db")
	alice := klaxon.Actor{By: "alice", How: "sms"}

	_, err := r.Engine.Note(t.Context(), id, "  ", false, alice)
	require.ErrorIs(t, err, klaxon.ErrInvalid)
	_, err = r.Engine.Note(t.Context(), id, "restarting the primary", false, alice)
	require.NoError(t, err)

	inc, err := r.Engine.Act(t.Context(), klaxon.ActionAck, id, alice)
	require.NoError(t, err)
	require.Equal(t, "alice", inc.Assignee, "the first to acknowledge works it")

	inc, err = r.Engine.Assign(t.Context(), id, incident.RoleAssignee, "bob", klaxon.Actor{By: "ops", How: "cli"})
	require.NoError(t, err)
	require.Equal(t, "bob", inc.Assignee)
	inc, err = r.Engine.Assign(t.Context(), id, incident.RoleCommander, "carol", klaxon.Actor{By: "ops", How: "web"})
	require.NoError(t, err)
	require.Equal(t, "carol", inc.Commander)
	_, err = r.Engine.Assign(t.Context(), id, "scribe", "dave", klaxon.Actor{By: "ops"})
	require.ErrorIs(t, err, klaxon.ErrInvalid)

	_, err = r.Engine.Act(t.Context(), klaxon.ActionResolve, id, alice)
	require.NoError(t, err)
	_, err = r.Engine.Note(t.Context(), id, "root cause: a full disk", true, klaxon.Actor{By: "bob", How: "web"})
	require.NoError(t, err, "a resolved incident takes notes, for the review")

	var got []string
	for _, e := range timeline(t, r, id) {
		switch e.Kind {
		case klaxon.EventNote, klaxon.EventStatusUpdate:
			got = append(got, string(e.Kind)+" "+e.By+": "+e.Text)
		case klaxon.EventAssigned, klaxon.EventCommanderSet:
			got = append(got, string(e.Kind)+" "+e.User+" by "+e.By+" via "+e.How)
		}
	}
	require.Equal(t, []string{
		"note alice: restarting the primary",
		"assigned bob by ops via cli",
		"commander_set carol by ops via web",
		"status_update bob: root cause: a full disk",
	}, got)
}

func TestMerge(t *testing.T) {
	r := incidenttest.NewRig(t, workT0)
	dst := r.Open(t, "db", klaxon.Sent{Notification: 1, User: "alice", Via: "sms", At: workT0})
	src := r.Open(t, "db-replica")
	r.Update(t, src, func(inc *klaxon.Incident) {
		for _, k := range []string{"prometheus/a", "prometheus/b"} {
			inc.Changed = append(inc.Changed, klaxon.AlertState{Alert: klaxon.Alert{Key: k, Status: klaxon.Firing, Summary: "replica lag"}, Count: 1, FirstSeen: workT0, LastSeen: workT0})
		}
		inc.AlertCount, inc.FiringCount = 2, 2
		inc.Record(klaxon.Event{At: workT0, Kind: klaxon.EventAlertJoined, Alert: "prometheus/a"})
	})
	ops := klaxon.Actor{By: "ops", How: "cli"}

	_, err := r.Engine.Merge(t.Context(), src, src, ops)
	require.ErrorIs(t, err, klaxon.ErrInvalid)

	out, err := r.Engine.Merge(t.Context(), src, dst, ops)
	require.NoError(t, err)
	require.Equal(t, 2, out.AlertCount)
	require.Len(t, out.Sent, 1, "src's pages do not become dst's")

	alerts, _, err := r.Store.IncidentAlerts(t.Context(), dst, "", 10)
	require.NoError(t, err)
	require.Len(t, alerts, 2)
	events := timeline(t, r, dst)
	var merged bool
	for _, e := range events {
		if e.Kind == klaxon.EventMerged {
			merged = true
			require.Equal(t, "#"+src+" db-replica is down (2 alerts)", e.Text)
		}
	}
	require.True(t, merged)
	require.Equal(t, "#"+src+": ", events[len(events)-1].Text)
	require.Equal(t, klaxon.EventAlertJoined, events[len(events)-1].Kind)

	from := r.Incident(t, src)
	require.Equal(t, klaxon.StateResolved, from.State)
	srcEvents := timeline(t, r, src)
	require.Equal(t, klaxon.EventMergedInto, srcEvents[len(srcEvents)-1].Kind)
	require.Equal(t, "#"+dst, srcEvents[len(srcEvents)-1].Text)

	// Asked again, it changes nothing.
	out, err = r.Engine.Merge(t.Context(), src, dst, ops)
	require.NoError(t, err)
	require.Equal(t, 2, out.AlertCount)
	require.Len(t, timeline(t, r, dst), len(events))

	third := r.Open(t, "queue")
	_, err = r.Engine.Merge(t.Context(), src, third, ops)
	require.ErrorIs(t, err, klaxon.ErrConflict, "merged into "+dst+" already")

	_, err = r.Engine.Act(t.Context(), klaxon.ActionResolve, dst, ops)
	require.NoError(t, err)
	other := r.Open(t, "cache")
	_, err = r.Engine.Merge(t.Context(), other, dst, ops)
	require.ErrorIs(t, err, klaxon.ErrConflict, "nothing merges into a resolved incident")
}

// pagedStore counts the merge's commits and their largest page of
// alerts or events, and fails every commit once its allowance is spent,
// as a process that stopped would make none.
type pagedStore struct {
	klaxon.Store
	allowance atomic.Int64
	commits   atomic.Int64
	largest   atomic.Int64
}

func (s *pagedStore) Commit(ctx context.Context, c klaxon.Commit) error {
	if s.allowance.Add(-1) < 0 {
		return fmt.Errorf("commit group %s: %w", c.Group, klaxon.ErrUnavailable)
	}
	for _, inc := range c.Incidents {
		n := int64(max(len(inc.Changed), len(inc.Recorded)))
		for old := s.largest.Load(); n > old && !s.largest.CompareAndSwap(old, n); old = s.largest.Load() {
		}
	}
	s.commits.Add(1)
	return s.Store.Commit(ctx, c)
}

// TestMergeStorm: an incident of 2,500 alerts merges a page at a time,
// no commit carrying more than a thousand alerts or events; a merge
// stopped halfway is finished by asking again, each alert and event of
// src moved once, and an alert dst held already kept as it was.
func TestMergeStorm(t *testing.T) {
	for name, open := range bothStores() {
		t.Run(name, func(t *testing.T) { testMergeStorm(t, open(t)) })
	}
}

// bothStores opens each store for a test: embedded, and Redis on a
// server of the test's own.
func bothStores() map[string]func(testing.TB) klaxon.Store {
	return map[string]func(testing.TB) klaxon.Store{
		"embedded": func(t testing.TB) klaxon.Store { return openStore(t) },
		"redis": func(t testing.TB) klaxon.Store {
			s, err := redis.Open(t.Context(), redis.Options{Addrs: []string{redistest.Start(t).Addr()}})
			require.NoError(t, err)
			t.Cleanup(func() { _ = s.Close() })
			return s
		},
	}
}

func testMergeStorm(t *testing.T, st klaxon.Store) {
	ctx := t.Context()
	dst, src := openIncident(t, st, onePolicy, workT0), openIncident(t, st, onePolicy, workT0)
	grow(t, st, src, "prometheus/", 2_499)
	grow(t, st, dst, "prometheus/", 10) // dst holds ten of them already
	srcEvents, err := klaxon.ReadTimeline(ctx, st, src)
	require.NoError(t, err)
	require.Greater(t, len(srcEvents), 2_000, "more than two pages")

	s := &pagedStore{Store: st}
	e := escalate.New(s, &phone{}, func() escalate.Directory { return directory{} }, slog.New(slog.DiscardHandler), escalate.Options{Now: func() time.Time { return workT0 }})
	ops := klaxon.Actor{By: "ops", How: "cli"}
	s.allowance.Store(3)
	_, err = e.Merge(ctx, src, dst, ops)
	require.ErrorIs(t, err, klaxon.ErrUnavailable, "stopped after its third commit")
	require.Equal(t, klaxon.StateTriggered, r(t, st, src).State)

	s.allowance.Store(1_000)
	out, err := e.Merge(ctx, src, dst, ops)
	require.NoError(t, err)
	require.LessOrEqual(t, s.largest.Load(), int64(1_000), "a page a commit")
	require.Greater(t, s.commits.Load(), int64(5))
	require.Equal(t, 11+2_499-10, out.AlertCount, "am/1 of each, dst's eleven, src's new ones")

	all := allAlerts(t, st, dst, 700)
	require.Len(t, all, out.AlertCount)

	events, err := klaxon.ReadTimeline(ctx, st, dst)
	require.NoError(t, err)
	var merged, copied int
	for _, ev := range events {
		switch {
		case ev.Kind == klaxon.EventMerged:
			merged++
			require.Equal(t, "#"+src+" disk full (2500 alerts)", ev.Text)
		case ev.From == src:
			require.Equal(t, "#"+src+": "+srcEvents[copied].Text, ev.Text, "in order, once each")
			copied++
		}
	}
	require.Equal(t, 1, merged)
	require.Equal(t, len(srcEvents), copied)
	require.Equal(t, klaxon.StateResolved, r(t, st, src).State)
	require.NotContains(t, strings.Join(r(t, st, dst).Once, " "), "merging:", "done")
}

// r reads incident id.
func r(t *testing.T, st klaxon.Store, id string) *klaxon.Incident {
	t.Helper()
	inc, err := st.Incident(t.Context(), id)
	require.NoError(t, err)
	return inc
}

// joinsDuring is a store on which, once, alerts join dst just after a
// merge read which of a page's alerts dst holds, as ingest may commit
// them meanwhile.
type joinsDuring struct {
	klaxon.Store
	once sync.Once
	join func()
}

func (s *joinsDuring) Group(ctx context.Context, key string, alerts []string) (klaxon.Group, error) {
	g, err := s.Store.Group(ctx, key, alerts)
	if len(alerts) > 0 {
		s.once.Do(s.join)
	}
	return g, err
}

// TestMergeAlertJoinsMeanwhile: alerts of src that join dst between the
// merge's read of which dst holds and its commit keep dst's records, and
// are counted once.
func TestMergeAlertJoinsMeanwhile(t *testing.T) {
	ctx := t.Context()
	st := openStore(t)
	dst, src := openIncident(t, st, onePolicy, workT0), openIncident(t, st, onePolicy, workT0)
	grow(t, st, src, "prometheus/", 1_500)
	s := &joinsDuring{Store: st, join: func() { grow(t, st, dst, "prometheus/", 1_500) }}
	e := escalate.New(s, &phone{}, func() escalate.Directory { return directory{} }, slog.New(slog.DiscardHandler), escalate.Options{Now: func() time.Time { return workT0 }})
	out, err := e.Merge(ctx, src, dst, klaxon.Actor{By: "ops", How: "cli"})
	require.NoError(t, err)
	require.Equal(t, 1_501, out.AlertCount, "am/1 and src's 1,500, which dst came to hold meanwhile")
}

// srcGrows is a store on which, once, alerts join src just after a merge
// read the first page of its alerts, as ingest may commit them meanwhile.
type srcGrows struct {
	klaxon.Store
	src  string
	once sync.Once
	grow func()
}

func (s *srcGrows) IncidentAlerts(ctx context.Context, id, cursor string, limit int) ([]klaxon.AlertState, string, error) {
	page, next, err := s.Store.IncidentAlerts(ctx, id, cursor, limit)
	if id == s.src && cursor == "" {
		s.once.Do(s.grow)
	}
	return page, next, err
}

// TestMergeSrcGainsMeanwhile: alerts that join src while a merge reads
// it, behind the page it is at, are in dst once src resolved; so are
// they when the merge that stopped is asked again.
func TestMergeSrcGainsMeanwhile(t *testing.T) {
	for _, stop := range []bool{false, true} {
		for name, open := range bothStores() {
			t.Run(fmt.Sprintf("%s/stopped=%t", name, stop), func(t *testing.T) {
				testMergeSrcGains(t, open(t), stop)
			})
		}
	}
}

func testMergeSrcGains(t *testing.T, st klaxon.Store, stop bool) {
	ctx := t.Context()
	dst, src := openIncident(t, st, onePolicy, workT0), openIncident(t, st, onePolicy, workT0)
	grow(t, st, src, "prometheus/", 2_500)
	paged := &pagedStore{Store: st}
	// Keys that sort before the first page's cursor.
	s := &srcGrows{Store: paged, src: src, grow: func() { grow(t, st, src, "blackbox/", 700) }}
	e := escalate.New(s, &phone{}, func() escalate.Directory { return directory{} }, slog.New(slog.DiscardHandler), escalate.Options{Now: func() time.Time { return workT0 }})
	ops := klaxon.Actor{By: "ops", How: "cli"}
	paged.allowance.Store(1_000)
	if stop {
		paged.allowance.Store(3) // src marked, the merge recorded, a page
		_, err := e.Merge(ctx, src, dst, ops)
		require.ErrorIs(t, err, klaxon.ErrUnavailable)
		paged.allowance.Store(1_000)
	}
	out, err := e.Merge(ctx, src, dst, ops)
	require.NoError(t, err)
	require.Equal(t, klaxon.StateResolved, r(t, st, src).State)
	require.Equal(t, 1+2_500+700, out.AlertCount, "am/1 and all of src's, those that joined it meanwhile too")
	all := allAlerts(t, st, dst, 1_000)
	require.Len(t, all, out.AlertCount)
	keys := map[string]bool{}
	for _, a := range all {
		keys[a.Key] = true
	}
	require.Len(t, keys, out.AlertCount, "each once")
	require.True(t, keys["blackbox/0"] && keys["blackbox/699"] && keys["prometheus/2499"])
}

// allAlerts reads every alert of incident id, pages of limit at a time.
func allAlerts(t *testing.T, st klaxon.Store, id string, limit int) []klaxon.AlertState {
	t.Helper()
	var all []klaxon.AlertState
	for cursor := ""; ; {
		page, next, err := st.IncidentAlerts(t.Context(), id, cursor, limit)
		require.NoError(t, err)
		all = append(all, page...)
		if cursor = next; next == "" {
			return all
		}
	}
}

// srcReads is a store that runs at[n] as the merge reads the n-th time
// src's first page of alerts, from 0.
type srcReads struct {
	klaxon.Store
	src string
	n   atomic.Int32
	at  []func()
}

func (s *srcReads) IncidentAlerts(ctx context.Context, id, cursor string, limit int) ([]klaxon.AlertState, string, error) {
	if id == s.src && cursor == "" {
		if n := int(s.n.Add(1)) - 1; n < len(s.at) {
			s.at[n]()
		}
	}
	return s.Store.IncidentAlerts(ctx, id, cursor, limit)
}

// TestMergeIntoResolvedMeanwhile: when dst resolves before the merge's
// last read of src, which src's new alerts call for, Merge says that they
// may be left on src.
func TestMergeIntoResolvedMeanwhile(t *testing.T) {
	ctx := t.Context()
	st := openStore(t)
	dst, src := openIncident(t, st, onePolicy, workT0), openIncident(t, st, onePolicy, workT0)
	grow(t, st, src, "prometheus/", 1_500)
	var e *escalate.Engine
	ops := klaxon.Actor{By: "ops", How: "cli"}
	// src grows as the pages begin; dst resolves as the last read of src
	// begins.
	s := &srcReads{Store: st, src: src, at: []func(){
		func() { grow(t, st, src, "blackbox/", 10) },
		func() {
			_, err := e.Act(ctx, klaxon.ActionResolve, dst, ops)
			require.NoError(t, err)
		},
	}}
	e = escalate.New(s, &phone{}, func() escalate.Directory { return directory{} }, slog.New(slog.DiscardHandler), escalate.Options{Now: func() time.Time { return workT0 }})
	_, err := e.Merge(ctx, src, dst, ops)
	require.ErrorIs(t, err, klaxon.ErrConflict)
	require.ErrorContains(t, err, "resolved while "+src+" merged into it")
	require.Equal(t, klaxon.StateResolved, r(t, st, src).State)
}

// TestMergeStoppedGoesNowhereElse: a merge stopped halfway, which dst
// holds part of, cannot be made into another incident; asked again into
// dst, it finishes.
func TestMergeStoppedGoesNowhereElse(t *testing.T) {
	ctx := t.Context()
	st := openStore(t)
	dst, other, src := openIncident(t, st, onePolicy, workT0), openIncident(t, st, onePolicy, workT0), openIncident(t, st, onePolicy, workT0)
	grow(t, st, src, "prometheus/", 2_500)
	s := &pagedStore{Store: st}
	e := escalate.New(s, &phone{}, func() escalate.Directory { return directory{} }, slog.New(slog.DiscardHandler), escalate.Options{Now: func() time.Time { return workT0 }})
	ops := klaxon.Actor{By: "ops", How: "cli"}
	s.allowance.Store(3)
	_, err := e.Merge(ctx, src, dst, ops)
	require.ErrorIs(t, err, klaxon.ErrUnavailable)

	s.allowance.Store(1_000)
	_, err = e.Merge(ctx, src, other, ops)
	require.ErrorIs(t, err, klaxon.ErrConflict, "under way into "+dst)
	require.Equal(t, 1, r(t, st, other).AlertCount, "other took nothing")
	out, err := e.Merge(ctx, src, dst, ops)
	require.NoError(t, err)
	require.Equal(t, 2_501, out.AlertCount)
}
