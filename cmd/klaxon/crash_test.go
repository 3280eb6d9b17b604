package main

import (
	"encoding/binary"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/api"
)

// incidentAlerts reads every alert of incident id, a page of limit at a
// time, following the cursors.
func incidentAlerts(t testing.TB, base, id string, limit int) []klaxon.AlertState {
	t.Helper()
	var all []klaxon.AlertState
	cursor := ""
	for {
		var page api.AlertPage
		getJSON(t, base+"/v1/incidents/"+id+"/alerts?limit="+strconv.Itoa(limit)+"&cursor="+url.QueryEscape(cursor), &page)
		require.LessOrEqual(t, len(page.Alerts), limit)
		all = append(all, page.Alerts...)
		if page.Next == "" {
			return all
		}
		cursor = page.Next
	}
}

// TestKill9KeepsEveryAnsweredAlert runs a storm of Alertmanager deliveries
// against the real binary on the embedded store, and kills it (kill -9)
// while the storm is still on. Started again on the same data, it has
// every alert of every delivery it answered 2xx, each in its group's one
// incident, and the incidents' counts agree with the alerts they hold.
// Deliveries not answered may or may not be there. It is killed either
// moments after its first answers, well within the three seconds after
// which a checkpoint writes the log into the file, so that what was
// answered is in the log alone; or once the storm has gone on past a
// checkpoint, so that what was answered is part in the file, part in the
// two log files.
func TestKill9KeepsEveryAnsweredAlert(t *testing.T) {
	for name, c := range map[string]struct {
		// kill says when, from the deliveries answered 2xx and the time
		// since the first was.
		kill       func(bodies int, since time.Duration) bool
		pageSize   int  // alerts per page read back, to walk the cursors
		checkpoint bool // the file holds a checkpoint when killed
	}{
		"before the first checkpoint": {kill: func(bodies int, _ time.Duration) bool { return bodies == 40 }, pageSize: 7},
		"after a checkpoint":          {kill: func(_ int, since time.Duration) bool { return since > 4*time.Second }, pageSize: 500, checkpoint: true},
	} {
		t.Run(name, func(t *testing.T) { kill9Drill(t, c.kill, c.pageSize, c.checkpoint) })
	}
}

// checkpointed reads, from a store's file not in use, the log position
// its last checkpoint holds: 0 before the first.
func checkpointed(t *testing.T, path string) uint64 {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	require.NoError(t, err)
	defer func() { require.NoError(t, db.Close()) }()
	var pos uint64
	require.NoError(t, db.View(func(tx *bolt.Tx) error {
		if b := tx.Bucket([]byte("meta")); b != nil {
			if v := b.Get([]byte("log")); len(v) == 8 {
				pos = binary.BigEndian.Uint64(v)
			}
		}
		return nil
	}))
	return pos
}

func kill9Drill(t *testing.T, kill func(bodies int, since time.Duration) bool, pageSize int, wantCheckpoint bool) {
	const (
		senders = 8 // goroutines posting at once
		perBody = 3 // alerts per delivery, each of another group
		groups  = 5 // alert groups: incidents
	)
	bin := buildKlaxon(t)
	config := writeConfig(t, time.Hour)
	wal := filepath.Join(filepath.Dir(config), "data", "klaxon.db-wal")
	p := startBinary(t, bin, config)

	var (
		mu       sync.Mutex
		sent     = map[string]fakeAlert{} // every alert posted, by key
		answered = map[string]fakeAlert{} // the alerts of deliveries answered 2xx
		bodies   int                      // deliveries answered 2xx
		firstAt  time.Time                // when the first was
		failed   []answer                 // other answers before the kill, for the log
		killed   atomic.Bool
		next     atomic.Int64
		stop     = make(chan struct{})
		ready    = make(chan struct{}) // closed once kill says so
		closed   bool
		wg       sync.WaitGroup
	)
	for range senders {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				// Each delivery has new alerts (instance n), each in
				// another group, so every incident grows.
				n := int(next.Add(1))
				alerts := make([]fakeAlert, perBody)
				mu.Lock()
				for j := range alerts {
					alerts[j] = fakeAlert{group: (n + j) % groups, instance: n}
					sent[alerts[j].key()] = alerts[j]
				}
				mu.Unlock()
				a := deliver(p.base, amWebhook(alerts))
				// A 2xx status line is the answer, even if the kill cut
				// the body that followed it.
				ok := a.code >= 200 && a.code < 300
				mu.Lock()
				if ok {
					for _, al := range alerts {
						answered[al.key()] = al
					}
					if bodies++; bodies == 1 {
						firstAt = time.Now()
					}
					if !closed && kill(bodies, time.Since(firstAt)) {
						closed = true
						close(ready)
					}
				} else if !killed.Load() {
					failed = append(failed, a)
				}
				mu.Unlock()
			}
		})
	}

	select {
	case <-ready:
	case <-time.After(10 * time.Second):
		close(stop)
		wg.Wait()
		mu.Lock()
		defer mu.Unlock()
		t.Fatalf("only %d deliveries answered 2xx after 10 s; other answers: %v\n%s", bodies, failed, p.logs)
	}
	// The storm goes on while the process dies.
	killed.Store(true)
	require.NoError(t, p.cmd.Process.Kill())
	<-p.done
	killedAt := time.Now()
	close(stop)
	wg.Wait()

	mu.Lock()
	defer mu.Unlock()
	require.Empty(t, failed, "no delivery failed before the kill")
	// A checkpoint zeroes the first frame's length of the log file it
	// empties: the file holds no batch then.
	var first [2]uint32
	for i, name := range []string{wal, wal + "2"} {
		log, err := os.ReadFile(name)
		require.NoError(t, err, "the store keeps its two log files beside the file")
		if len(log) >= 4 {
			first[i] = binary.BigEndian.Uint32(log)
		}
	}
	require.True(t, first[0] > 0 || first[1] > 0, "the kill came before a checkpoint emptied the logs: the drill tests nothing")
	t.Logf("%d deliveries answered 2xx (%d alerts) of %d alerts posted; killed %s after the first answer; the log files' first frames %d and %d bytes",
		bodies, len(answered), len(sent), killedAt.Sub(firstAt).Round(time.Millisecond), first[0], first[1])
	pos := checkpointed(t, filepath.Join(filepath.Dir(wal), "klaxon.db"))
	if wantCheckpoint {
		require.NotZero(t, pos, "the kill came after a checkpoint: the drill tests the file and the log together")
	} else {
		require.Zero(t, pos, "the kill came before the first checkpoint: the drill tests the log alone")
	}

	p = startBinary(t, bin, config)
	found := map[string]string{} // alert key → its incident
	byGroup := map[string]string{}
	for _, inc := range listIncidents(t, p.base, "all") {
		name := inc.Labels["alertname"]
		require.NotContains(t, byGroup, name, "incidents %s and %s for one group", byGroup[name], inc.ID)
		byGroup[name] = inc.ID
		require.Equal(t, klaxon.StateTriggered, inc.State, "incident %s", inc.ID)

		alerts := incidentAlerts(t, p.base, inc.ID, pageSize)
		require.Len(t, alerts, inc.AlertCount, "incident %s: its count is its alerts", inc.ID)
		require.Equal(t, inc.AlertCount, inc.FiringCount, "incident %s: every alert fires", inc.ID)
		for _, a := range alerts {
			posted, ok := sent[a.Key]
			require.True(t, ok, "incident %s: alert %s was never posted", inc.ID, a.Key)
			if prev, dup := found[a.Key]; dup { // a map lookup: require.NotContains walks the map
				t.Fatalf("alert %s in incidents %s and %s", a.Key, prev, inc.ID)
			}
			found[a.Key] = inc.ID
			require.Equal(t, posted.alertname(), name, "alert %s in incident %s of another group", a.Key, inc.ID)
			require.Equal(t, klaxon.Firing, a.Status, "alert %s", a.Key)
			require.Equal(t, 1, a.Count, "alert %s: posted once", a.Key)
		}
	}
	var lost []string
	for key := range answered {
		if _, ok := found[key]; !ok {
			lost = append(lost, key)
		}
	}
	if len(lost) > 0 {
		slices.Sort(lost)
		t.Fatalf("%d of %d alerts answered 2xx before kill -9 are missing after the restart, among them %v",
			len(lost), len(answered), lost[:min(len(lost), 5)])
	}
	t.Logf("after the restart: %d incidents, %d alerts (%d answered, %d more not answered but written)",
		len(byGroup), len(found), len(answered), len(found)-len(answered))
}
