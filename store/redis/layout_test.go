package redis

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/redistest"
	"github.com/klaxonhq/klaxon/store/internal/alertrecord"
	"github.com/klaxonhq/klaxon/store/storetest"
)

// TestUpgradeLayout1 starts Redis on keys that the previous layout wrote
// (testdata/v1.rdb; see storetest.CheckLayout1) and reads it all in the
// new layout, also after a second open.
func TestUpgradeLayout1(t *testing.T) {
	srv := startOn(t, "v1.rdb")

	for range 2 {
		s := open(t, Options{Addrs: []string{srv.Addr()}})
		storetest.CheckLayout1(t, s)
		require.NoError(t, s.Close())
	}
}

// TestUpgradeLayout3 starts Redis on keys that layout 3 wrote
// (testdata/v3.rdb: testdata/v1.rdb as a Klaxon of layout 3 upgraded it),
// whose alert records are whole, and reads it all at the current layout,
// also after a second open. An alert that changes is then kept as a seen
// record and its details, and reads back the same.
func TestUpgradeLayout3(t *testing.T) {
	srv := startOn(t, "v3.rdb")

	ctx := t.Context()
	openTwice(t, srv, nil)

	s := open(t, Options{Addrs: []string{srv.Addr()}})
	defer s.Close()
	inc, err := s.Incident(ctx, "1")
	require.NoError(t, err)
	before, _, err := s.IncidentAlerts(ctx, "1", "", 10)
	require.NoError(t, err)
	a := before[0]
	g, err := s.Group(ctx, inc.Group, []string{a.Key})
	require.NoError(t, err)
	require.Zero(t, g.Alerts[a.Key].Stored, "a whole record has no digest")
	next := a
	next.Count, next.LastSeen = a.Count+1, a.LastSeen.Add(time.Minute)
	next.Stored = g.Alerts[a.Key].Stored
	h := inc.Header()
	h.Changed = []klaxon.AlertState{next}
	require.NoError(t, s.Commit(ctx, klaxon.Commit{Group: inc.Group, Version: g.Version, Token: g.Token, Open: "1", Incidents: []*klaxon.Incident{h}}))
	tag := s.tag(inc.Group)
	record, err := s.rdb.HGet(ctx, incidentAlertsKey(tag, "1"), a.Key).Bytes()
	require.NoError(t, err)
	require.True(t, alertrecord.Apart(record), "kept apart once changed")
	after, _, err := s.IncidentAlerts(ctx, "1", "", 10)
	require.NoError(t, err)
	want := slices.Clone(before)
	next.Stored = 0
	want[0] = next
	require.Equal(t, want, after)
}

// TestAlertKeysSorted starts Redis on keys that the version before the
// sorted sets of alert keys wrote (testdata/v4.rdb: testdata/v3.rdb as it
// upgraded it to layout 4, then one alert counted again, so kept as a
// seen record and its details): the pages hold every alert, the set
// built on an incident's first read, also after new alerts were added
// to the set alone and after an alert was written without it, as an
// older replica still running would.
func TestAlertKeysSorted(t *testing.T) {
	srv := startOn(t, "v4.rdb")

	ctx := t.Context()
	openTwice(t, srv, func(s *Store) {
		alerts, _, err := s.IncidentAlerts(ctx, "1", "", 10)
		require.NoError(t, err)
		require.Equal(t, 2, alerts[0].Count, "counted again at layout 4")
	})

	s := open(t, Options{Addrs: []string{srv.Addr()}})
	defer s.Close()
	inc, err := s.Incident(ctx, "3")
	require.NoError(t, err)
	g, err := s.Group(ctx, inc.Group, nil)
	require.NoError(t, err)
	h := inc.Header()
	for i := range 5 {
		h.Changed = append(h.Changed, klaxon.AlertState{Alert: klaxon.Alert{Key: fmt.Sprintf("prometheus/zz%d", i), Status: klaxon.Firing}, Count: 1, FirstSeen: inc.CreatedAt, LastSeen: inc.CreatedAt})
	}
	h.AlertCount += 5
	require.NoError(t, s.Commit(ctx, klaxon.Commit{Group: inc.Group, Version: g.Version, Token: g.Token, Open: "3", Incidents: []*klaxon.Incident{h}}))
	pages := func() []string {
		var keys []string
		for cursor := ""; ; {
			page, next, err := s.IncidentAlerts(ctx, "3", cursor, 2)
			require.NoError(t, err)
			for _, a := range page {
				keys = append(keys, a.Key)
			}
			if cursor = next; next == "" {
				return keys
			}
			require.Len(t, page, 2)
		}
	}
	keys := pages()
	require.Len(t, keys, 7, "the two from before the set and five new")
	require.True(t, slices.IsSorted(keys), "%v", keys)

	require.NoError(t, s.rdb.ZRem(ctx, alertOrderKey(s.tag(inc.Group), "3"), "prometheus/zz2").Err())
	require.Equal(t, keys, pages(), "an alert an older replica wrote")
}

// openTwice opens a store on srv twice, as two starts would: each finds
// what the first layout's quickstart wrote (storetest.CheckLayout1), and
// check, if any, and the keys at the current layout.
func openTwice(t *testing.T, srv *redistest.Server, check func(s *Store)) {
	t.Helper()
	for range 2 {
		s := open(t, Options{Addrs: []string{srv.Addr()}})
		storetest.CheckLayout1(t, s)
		if check != nil {
			check(s)
		}
		got, err := s.rdb.Get(t.Context(), s.layoutKey()).Result()
		require.NoError(t, err)
		require.Equal(t, strconv.Itoa(layout), got)
		require.NoError(t, s.Close())
	}
}

// startOn starts Redis on the keys of testdata/name, a dump.
func startOn(t *testing.T, name string) *redistest.Server {
	t.Helper()
	srv := redistest.Start(t)
	srv.Stop(t)
	rdb, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(srv.Dir(), "dump.rdb"), rdb, 0o600))
	srv.Restart(t)
	return srv
}

// TestNewerLayoutRefused: keys of a layout this version does not know are
// never read wrongly; Open says what to do.
func TestNewerLayoutRefused(t *testing.T) {
	addr := redistest.Start(t).Addr()
	s := open(t, Options{Addrs: []string{addr}, Prefix: "newer"})
	require.NoError(t, s.rdb.Set(t.Context(), s.layoutKey(), layout+1, 0).Err())
	require.NoError(t, s.Close())
	_, err := Open(t.Context(), Options{Addrs: []string{addr}, Prefix: "newer"})
	require.ErrorContains(t, err, fmt.Sprintf("key layout %d, written by a newer Klaxon", layout+1))
}

// TestUpgradeLayout2: the open incidents of keys of layout 2, written
// before the index of pages by user, are in the index at layout 3 and up: a
// reply after the upgrade finds the incident that paged its sender. A
// Klaxon of layout 2 would refuse the keys now, instead of paging
// without the index.
func TestUpgradeLayout2(t *testing.T) {
	addr := redistest.Start(t).Addr()
	o := Options{Addrs: []string{addr}, Prefix: "v2"}
	s := open(t, o)
	id := storetest.CommitUnindexedPages(t, s)
	ctx := t.Context()
	require.NoError(t, s.rdb.Set(ctx, s.layoutKey(), "2", 0).Err())
	require.NoError(t, s.Close())

	for range 2 {
		s = open(t, o)
		storetest.CheckIndexedPages(t, s, id)
		got, err := s.rdb.Get(ctx, s.layoutKey()).Result()
		require.NoError(t, err)
		require.Equal(t, strconv.Itoa(layout), got)
		require.NoError(t, s.Close())
	}
}
