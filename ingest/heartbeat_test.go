package ingest_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/ingest"
	"github.com/klaxonhq/klaxon/internal/incidenttest"
	"github.com/klaxonhq/klaxon/internal/redistest"
	"github.com/klaxonhq/klaxon/store/redis"
)

// accepted records the heartbeat alerts Heartbeats commits, and may act
// while it does: a ping landing in the middle of a deadline.
type accepted struct {
	mu     sync.Mutex
	got    []klaxon.Status
	during func()
}

func (a *accepted) Accept(_ context.Context, alerts []klaxon.Alert) error {
	a.mu.Lock()
	for _, al := range alerts {
		a.got = append(a.got, al.Status)
	}
	during := a.during
	a.during = nil
	a.mu.Unlock()
	if during != nil {
		during()
	}
	return nil
}

func (a *accepted) firing() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	n := 0
	for _, s := range a.got {
		if s == klaxon.Firing {
			n++
		}
	}
	return n
}

// heartbeatStore is a store of each kind, for the heartbeats' tests: the
// embedded one, and Redis Cluster, where each heartbeat's group is a
// hash tag of its own.
func heartbeatStores(t *testing.T) map[string]klaxon.Store {
	cluster := redistest.StartCluster(t, 3)
	rs, err := redis.Open(t.Context(), redis.Options{Addrs: cluster.Addrs(), Prefix: "hb"})
	require.NoError(t, err)
	t.Cleanup(func() { _ = rs.Close() })
	return map[string]klaxon.Store{"embedded": incidenttest.NewStore(t), "redis cluster": rs}
}

// TestHeartbeatDeadlines: a missed deadline fires and sets the next one;
// a ping that lands while a deadline is being taken keeps its own
// deadline, which fires when the sender goes silent after it. On both
// stores.
func TestHeartbeatDeadlines(t *testing.T) {
	for name, st := range heartbeatStores(t) {
		t.Run(name, func(t *testing.T) { testHeartbeatDeadlines(t, st) })
	}
}

func testHeartbeatDeadlines(t *testing.T, st klaxon.Store) {
	now := time.Date(2026, 11, 27, 3, 0, 0, 0, time.UTC)
	acc := &accepted{}
	h := ingest.NewHeartbeats(st, acc, func(name string) (ingest.Heartbeat, bool) {
		return ingest.Heartbeat{Interval: 5 * time.Minute, Grace: time.Minute}, name == "backups"
	}, func() time.Time { return now })
	ctx := t.Context()
	claim := func() []klaxon.Timer {
		t.Helper()
		due, _, err := st.Claim(ctx, now, time.Minute, 10)
		require.NoError(t, err)
		return due
	}

	require.NoError(t, h.Ping(ctx, "backups"))
	now = now.Add(5*time.Minute + 59*time.Second)
	require.Empty(t, claim(), "not due yet")

	// Missed: fires, and the next deadline is set.
	now = now.Add(time.Second)
	due := claim()
	require.Len(t, due, 1)
	require.NoError(t, h.Missed(ctx, due[0]))
	require.Equal(t, 1, acc.firing())
	now = now.Add(6 * time.Minute)
	due = claim()
	require.Len(t, due, 1, "the next deadline")
	require.NoError(t, h.Missed(ctx, due[0]))
	require.Equal(t, 2, acc.firing(), "still silent: fired again")

	// A ping, the last, lands while its predecessor's deadline is taken.
	require.NoError(t, h.Ping(ctx, "backups"))
	now = now.Add(6 * time.Minute)
	due = claim()
	require.Len(t, due, 1)
	acc.during = func() { require.NoError(t, h.Ping(ctx, "backups")) }
	require.NoError(t, h.Missed(ctx, due[0]))
	fired := acc.firing()
	now = now.Add(6 * time.Minute)
	due = claim()
	require.Len(t, due, 1, "the last ping's deadline stands")
	require.NoError(t, h.Missed(ctx, due[0]))
	require.Equal(t, fired+1, acc.firing(), "and fires")
}

// TestHeartbeatArmed: a heartbeat never pinged is missed an interval and
// a grace after it was armed; one pinged before keeps its deadline.
func TestHeartbeatArmed(t *testing.T) {
	st := incidenttest.NewStore(t)
	now := time.Date(2026, 11, 27, 3, 0, 0, 0, time.UTC)
	acc := &accepted{}
	h := ingest.NewHeartbeats(st, acc, func(name string) (ingest.Heartbeat, bool) {
		return ingest.Heartbeat{Interval: 5 * time.Minute, Grace: time.Minute}, name != "gone"
	}, func() time.Time { return now })
	ctx := t.Context()
	require.NoError(t, h.Ping(ctx, "pinged"))
	now = now.Add(time.Minute)
	require.NoError(t, h.Arm(ctx, []string{"silent", "pinged", "gone"}))
	require.NoError(t, h.Arm(ctx, []string{"silent"}), "arming again changes nothing")

	now = now.Add(5 * time.Minute) // the pinged one's deadline, not the silent one's
	due, _, err := st.Claim(ctx, now, time.Minute, 10)
	require.NoError(t, err)
	require.Len(t, due, 1)
	require.Equal(t, klaxon.HeartbeatGroup("pinged"), due[0].Group)
	require.NoError(t, h.Missed(ctx, due[0]))

	now = now.Add(time.Minute)
	due, _, err = st.Claim(ctx, now, time.Minute, 10)
	require.NoError(t, err)
	require.Len(t, due, 1, "the silent one's, once")
	require.Equal(t, klaxon.HeartbeatGroup("silent"), due[0].Group)
	require.NoError(t, h.Missed(ctx, due[0]))
	require.Equal(t, 2, acc.firing())
}

// readHook runs during once, after the store answers a read of group.
type readHook struct {
	klaxon.Store
	group  string
	during func()
}

func (s *readHook) Group(ctx context.Context, key string, alerts []string) (klaxon.Group, error) {
	g, err := s.Store.Group(ctx, key, alerts)
	if key == s.group && s.during != nil {
		during := s.during
		s.during = nil
		during()
	}
	return g, err
}

// TestHeartbeatPingBeforeTheAlertFires: a ping that lands after Missed
// read the heartbeat's group, and before its alert fires, sends its
// resolve first, to no incident; the alert then opens one. Missed sees
// the ping, and resolves it: the sender is alive. Before, the incident
// stayed open, and paged, until some later ping.
func TestHeartbeatPingBeforeTheAlertFires(t *testing.T) {
	base := incidenttest.NewStore(t)
	st := &readHook{Store: base, group: klaxon.HeartbeatGroup("backups")}
	now := time.Date(2026, 11, 27, 3, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	p := ingest.NewPipeline(st, func() ingest.Router { return oneGroup{} }, nil, clock)
	h := ingest.NewHeartbeats(st, p, func(name string) (ingest.Heartbeat, bool) {
		return ingest.Heartbeat{Interval: 5 * time.Minute, Grace: time.Minute}, name == "backups"
	}, clock)
	ctx := t.Context()

	require.NoError(t, h.Ping(ctx, "backups"))
	now = now.Add(6*time.Minute + time.Second) // the deadline passed
	due, _, err := st.Claim(ctx, now, time.Minute, 10)
	require.NoError(t, err)
	require.Len(t, due, 1)
	st.during = func() { require.NoError(t, h.Ping(ctx, "backups")) }
	require.NoError(t, h.Missed(ctx, due[0]))

	g, err := base.Group(ctx, "g"+ingest.HeartbeatAlertname, nil)
	require.NoError(t, err)
	require.Nil(t, g.Open, "the heartbeat pinged after its deadline, yet an incident is open")
}

// TestHeartbeatPutBack: a heartbeat dropped from the config when its
// deadline falls due, then put back (and Klaxon restarted, whose Arm
// leaves a heartbeat with a history be), is missed within dormantCheck
// while its sender stays silent. Before, its deadline was cancelled for
// good, and it was never missed again.
func TestHeartbeatPutBack(t *testing.T) {
	st := incidenttest.NewStore(t)
	now := time.Date(2026, 11, 27, 3, 0, 0, 0, time.UTC)
	configured := true
	acc := &accepted{}
	h := ingest.NewHeartbeats(st, acc, func(name string) (ingest.Heartbeat, bool) {
		return ingest.Heartbeat{Interval: 5 * time.Minute, Grace: time.Minute}, name == "backups" && configured
	}, func() time.Time { return now })
	ctx := t.Context()
	require.NoError(t, h.Ping(ctx, "backups"))

	configured = false // a reload drops it
	now = now.Add(6 * time.Minute)
	due, _, err := st.Claim(ctx, now, time.Minute, 10)
	require.NoError(t, err)
	require.Len(t, due, 1)
	require.NoError(t, h.Missed(ctx, due[0]))
	require.Zero(t, acc.firing(), "not in the config: not missed")

	configured = true // put back, and Klaxon restarts
	require.NoError(t, h.Arm(ctx, []string{"backups"}))
	now = now.Add(time.Hour - time.Second)
	due, _, err = st.Claim(ctx, now, time.Minute, 10)
	require.NoError(t, err)
	require.Empty(t, due)
	now = now.Add(time.Second)
	due, _, err = st.Claim(ctx, now, time.Minute, 10)
	require.NoError(t, err)
	require.Len(t, due, 1, "silent, and back in the config")
	require.NoError(t, h.Missed(ctx, due[0]))
	require.Equal(t, 1, acc.firing())
}
