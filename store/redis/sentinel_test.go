package redis

import (
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/redistest"
)

// TestSentinel runs the store through Redis Sentinel (master_name) and
// across a failover: the master stops, Sentinel promotes its replica, and
// the same store handle carries on, with what it had committed.
func TestSentinel(t *testing.T) {
	t.Parallel()
	master := redistest.Start(t)
	_, port, err := net.SplitHostPort(master.Addr())
	require.NoError(t, err)
	replica := redistest.Start(t, "--replicaof", "127.0.0.1", port)
	sentinel := redistest.StartSentinel(t, master, "klaxon", 500)

	s, err := Open(t.Context(), Options{Addrs: []string{sentinel.Addr()}, MasterName: "klaxon", Prefix: "sen"})
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })

	id, err := s.NextIncidentID(t.Context())
	require.NoError(t, err)
	inc := &klaxon.Incident{ID: id, Group: "g", State: klaxon.StateTriggered, CreatedAt: time.Now().UTC().Truncate(time.Second)}
	require.NoError(t, s.Commit(t.Context(), klaxon.Commit{Group: "g", Open: id, Incidents: []*klaxon.Incident{inc}}))
	// The replica has it before the master goes. On a busy machine the
	// replica may still be loading the master's first snapshot.
	reply, err := redistest.Do(master.Addr(), "WAIT", "1", "15000")
	require.NoError(t, err)
	require.Equal(t, "1", reply)

	// Sentinel can promote only a replica it knows, with its link to the
	// master up as last seen: it learns of replicas from the master's INFO,
	// every ten seconds, which on a busy machine may come after the stop.
	_, replicaPort, err := net.SplitHostPort(replica.Addr())
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		out, err := redistest.Do(sentinel.Addr(), "SENTINEL", "REPLICAS", "klaxon")
		return err == nil && replicaReady(out, replicaPort)
	}, 30*time.Second, 100*time.Millisecond, "sentinel knows the replica")

	master.Stop(t)
	require.Eventually(t, func() bool {
		g, err := s.Group(t.Context(), "g", nil)
		if err != nil {
			require.True(t, errors.Is(err, klaxon.ErrUnavailable), "during the failover: %v", err)
			return false
		}
		return g.Version == 1 && g.Open != nil && g.Open.ID == id
	}, 30*time.Second, 100*time.Millisecond, "the promoted replica serves the group")

	// And takes writes: the replica is the master now.
	require.NoError(t, s.Commit(t.Context(), klaxon.Commit{Group: "g", Version: 1, Open: id, Incidents: []*klaxon.Incident{inc}}))
	role, err := redistest.Do(replica.Addr(), "ROLE")
	require.NoError(t, err)
	require.Contains(t, role, "master")
}

// TestSentinelMasterUnknown: Sentinels that all answer, none with the
// master (its name mistyped in the config), fail Open at once with an
// error that names the master and the Sentinels asked, and that is no
// outage to wait out; while one of them cannot be reached, Open fails as
// Redis unavailable, saying what each answered.
func TestSentinelMasterUnknown(t *testing.T) {
	t.Parallel()
	master := redistest.Start(t)
	a := redistest.StartSentinel(t, master, "klaxon", 500)
	b := redistest.StartSentinel(t, master, "klaxon", 500)
	down := redistest.Start(t)
	down.Stop(t)
	plain := redistest.Start(t) // a Redis server, no Sentinel

	for _, tc := range []struct {
		name        string
		addrs       []string
		unavailable bool
		want        string
	}{
		{"every Sentinel answers", []string{a.Addr(), b.Addr()}, false,
			`master_name: no Sentinel at ` + a.Addr() + `, ` + b.Addr() + ` knows master "klaxn"`},
		{"one cannot be reached", []string{a.Addr(), down.Addr()}, true,
			a.Addr() + ` knows no such master; ` + down.Addr() + `: dial tcp`},
		{"an address is no Sentinel", []string{a.Addr(), plain.Addr()}, false,
			a.Addr() + ` knows no such master; ` + plain.Addr() + `: ERR unknown`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Open(t.Context(), Options{Addrs: tc.addrs, MasterName: "klaxn", Prefix: "sen"})
			require.Error(t, err)
			require.Contains(t, err.Error(), tc.want)
			require.Equal(t, tc.unavailable, errors.Is(err, klaxon.ErrUnavailable), "%v", err)
		})
	}
}

// replicaReady reports whether SENTINEL REPLICAS, its fields one a line,
// lists the replica on port as a replica whose link to the master is up.
func replicaReady(out, port string) bool {
	f := strings.Split(out, "\n")
	var replicas []map[string]string
	for i := 0; i+1 < len(f); i += 2 {
		if f[i] == "name" {
			replicas = append(replicas, map[string]string{})
		}
		if len(replicas) > 0 {
			replicas[len(replicas)-1][f[i]] = f[i+1]
		}
	}
	for _, r := range replicas {
		if r["port"] == port && r["flags"] == "slave" && r["master-link-status"] == "ok" {
			return true
		}
	}
	return false
}

// TestSentinelPassword: Sentinels that ask for a password of their own
// (requirepass in sentinel.conf, as charts that protect Redis set them)
// are asked with SentinelPassword, and the master with Password; without
// it, Open fails at once saying that the Sentinels refused, no outage to
// wait out.
func TestSentinelPassword(t *testing.T) {
	t.Parallel()
	master := redistest.Start(t, "--requirepass", "m4ster")
	sentinel := redistest.StartSentinel(t, master, "klaxon", 500, "requirepass s3ntinel", "sentinel auth-pass klaxon m4ster")

	s, err := Open(t.Context(), Options{Addrs: []string{sentinel.Addr()}, MasterName: "klaxon", Password: "m4ster",
		SentinelPassword: "s3ntinel", Prefix: "sen"})
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	id, err := s.NextIncidentID(t.Context())
	require.NoError(t, err)
	inc := &klaxon.Incident{ID: id, Group: "g", State: klaxon.StateTriggered, CreatedAt: time.Now().UTC().Truncate(time.Second)}
	require.NoError(t, s.Commit(t.Context(), klaxon.Commit{Group: "g", Open: id, Incidents: []*klaxon.Incident{inc}}))

	for _, tc := range []struct{ name, password, want string }{
		{"none given", "", "sentinel_password: the Sentinel at " + sentinel.Addr() + " asks for a password: NOAUTH"},
		{"a wrong one", "wrong", "sentinel_password: the Sentinel at " + sentinel.Addr() + " refused it: WRONGPASS"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Open(t.Context(), Options{Addrs: []string{sentinel.Addr()}, MasterName: "klaxon", Password: "m4ster",
				SentinelPassword: tc.password, Prefix: "sen"})
			require.Error(t, err)
			require.Contains(t, err.Error(), tc.want)
			require.False(t, errors.Is(err, klaxon.ErrUnavailable), "%v", err)
		})
	}
}
