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
	"github.com/klaxonhq/klaxon/incident"
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
	for range 2 {
		s := open(t, Options{Addrs: []string{srv.Addr()}})
		storetest.CheckLayout1(t, s)
		got, err := s.rdb.Get(ctx, s.layoutKey()).Result()
		require.NoError(t, err)
		require.Equal(t, strconv.Itoa(layout), got)
		require.NoError(t, s.Close())
	}

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

// TestDetailsOnlyWhenChanged: a commit writes an alert's details record
// only when its digest is not the one the alert's state was folded from
// (AlertState.Stored): with that digest, the details stored stay, even
// other ones (put there by hand here); with another, they are written.
func TestDetailsOnlyWhenChanged(t *testing.T) {
	s := open(t, Options{Addrs: []string{redistest.Start(t).Addr()}})
	defer s.Close()
	ctx := t.Context()
	a := klaxon.AlertState{Alert: klaxon.Alert{Key: "am/a", Integration: "am", Status: klaxon.Firing, Summary: "disk full",
		Labels: map[string]string{"alertname": "DiskFull"}, StartsAt: t0}, Count: 1, FirstSeen: t0, LastSeen: t0}
	commit := func(version uint64, a klaxon.AlertState) {
		t.Helper()
		inc := &klaxon.Incident{ID: "1", Group: "g", State: klaxon.StateTriggered, CreatedAt: t0, Changed: []klaxon.AlertState{a}}
		require.NoError(t, s.Commit(ctx, klaxon.Commit{Group: "g", Version: version, Open: "1", Incidents: []*klaxon.Incident{inc}}))
	}
	labels := func() map[string]string {
		t.Helper()
		got, _, err := s.IncidentAlerts(ctx, "1", "", 10)
		require.NoError(t, err)
		require.Len(t, got, 1)
		return got[0].Labels
	}
	commit(0, a)
	g, err := s.Group(ctx, "g", []string{"am/a"})
	require.NoError(t, err)
	digest := g.Alerts["am/a"].Stored
	require.Equal(t, alertrecord.Digest(alertrecord.EncodeDetails(nil, &a)), digest)

	other := a
	other.Labels = map[string]string{"alertname": "Other"}
	require.NoError(t, s.rdb.HSet(ctx, detailsKey(s.tag("g"), "1"), "am/a", alertrecord.EncodeDetails(nil, &other)).Err())
	again := a
	again.Count, again.LastSeen, again.Stored = 2, t0.Add(time.Minute), digest
	commit(1, again)
	require.Equal(t, other.Labels, labels(), "the same digest: the details stored stay")

	again.Count, again.Stored = 3, digest+1
	commit(2, again)
	require.Equal(t, a.Labels, labels(), "another digest: the details are written")
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

// TestDigestsFollowTheCache: a state folded from the group cache carries
// the digest of what the last commit wrote, not of what the read before
// it found. Labels go from A to B (folded on a read of Redis, which
// gives A's digest) and back to A (folded on what B's commit left in the
// cache) and end as A: with A's digest still in the cache after B's
// commit, the third commit would keep B's details.
func TestDigestsFollowTheCache(t *testing.T) {
	s := open(t, Options{Addrs: []string{redistest.Start(t).Addr()}})
	defer s.Close()
	ctx := t.Context()
	tmpl := incident.Template{Group: "g"}
	deliver := func(labels map[string]string, at time.Time) {
		t.Helper()
		a := klaxon.Alert{Key: "am/a", Integration: "am", Status: klaxon.Firing, Summary: "disk full", Labels: labels, StartsAt: at}
		require.NoError(t, klaxon.Update(ctx, s, "g", []string{a.Key}, func(g klaxon.Group) (*klaxon.Commit, error) {
			r := incident.Apply(g.Open, g.Alerts, []klaxon.Alert{a}, at, tmpl)
			if r.Opened {
				r.Incident.ID = "1"
			}
			return &klaxon.Commit{Open: r.Incident.ID, Incidents: []*klaxon.Incident{r.Incident}, Index: r.Index}, nil
		}))
		got, _, err := s.IncidentAlerts(ctx, "1", "", 10)
		require.NoError(t, err)
		require.Len(t, got, 1)
		require.Equal(t, labels, got[0].Labels)
	}
	a, b := map[string]string{"team": "a"}, map[string]string{"team": "b"}
	deliver(a, t0)
	s.cache.Drop("g") // the next delivery reads A's digest from Redis
	deliver(b, t0.Add(time.Minute))
	_, cached := s.CachedGroup("g", []string{"am/a"})
	require.True(t, cached, "the next delivery folds on the cache")
	deliver(a, t0.Add(2*time.Minute))
}
