package redis

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/incident"
	"github.com/klaxonhq/klaxon/internal/redistest"
	"github.com/klaxonhq/klaxon/store/internal/alertrecord"
)

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

// TestHeaderOnlyWhenChanged: a commit whose header is the one the group
// holds in the state read (the cache's) leaves the stored header as it
// is, even another one (put there by hand here); a header that changed
// is written.
func TestHeaderOnlyWhenChanged(t *testing.T) {
	s := open(t, Options{Addrs: []string{redistest.Start(t).Addr()}})
	defer s.Close()
	ctx := t.Context()
	inc := &klaxon.Incident{ID: "1", Group: "g", State: klaxon.StateTriggered, CreatedAt: t0, Summary: "disk full", AlertCount: 1, FiringCount: 1}
	commit := func(summary string) {
		t.Helper()
		g, err := s.Group(ctx, "g", nil)
		require.NoError(t, err)
		next := inc.Header()
		next.Summary = summary
		require.NoError(t, s.Commit(ctx, klaxon.Commit{Group: "g", Version: g.Version, Token: g.Token, Open: "1", Incidents: []*klaxon.Incident{next}}))
	}
	summary := func() string {
		t.Helper()
		got, err := s.Incident(ctx, "1")
		require.NoError(t, err)
		return got.Summary
	}
	commit("disk full")
	key := incidentKey(s.tag("g"), "1")
	byHand := func() {
		t.Helper()
		other := inc.Header()
		other.Summary = "put there by hand"
		body, err := json.Marshal(other)
		require.NoError(t, err)
		require.NoError(t, s.rdb.HSet(ctx, key, "j", body).Err())
	}
	byHand()
	commit("disk full")
	require.Equal(t, "put there by hand", summary(), "the same header: the one stored stays")

	commit("disk full again")
	require.Equal(t, "disk full again", summary(), "another header is written")
}
