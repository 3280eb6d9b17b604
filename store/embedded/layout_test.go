package embedded

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/store/storetest"
)

// copyFile copies testdata file name into a fresh folder and returns its
// path there.
func copyFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "klaxon.db")
	require.NoError(t, os.WriteFile(path, b, 0o600))
	return path
}

// TestUpgradeLayout1 opens a file that the previous layout wrote (see
// storetest.CheckLayout1) and reads it all in the new layout, also after a
// second open.
func TestUpgradeLayout1(t *testing.T) {
	path := copyFile(t, "v1.db")
	for range 2 {
		s, err := Open(path)
		require.NoError(t, err)
		storetest.CheckLayout1(t, s)
		require.NoError(t, s.Close())
	}
}

// TestUpgradeLayout2 opens a file of layout 2, the quickstart run of
// TestUpgradeLayout1 as the previous version wrote it after upgrading it,
// and reads it all with the alert records split, also after a second
// open.
func TestUpgradeLayout2(t *testing.T) {
	path := copyFile(t, "v2.db")
	db, err := bolt.Open(path, 0o600, nil)
	require.NoError(t, err)
	require.NoError(t, db.View(func(tx *bolt.Tx) error {
		require.Equal(t, "2", string(tx.Bucket(bucketMeta).Get(layoutKey)))
		require.NotNil(t, tx.Bucket(bucketIncidentAlertsV2))
		return nil
	}))
	require.NoError(t, db.Close())
	for range 2 {
		s, err := Open(path)
		require.NoError(t, err)
		storetest.CheckLayout1(t, s)
		require.NoError(t, s.Close())
	}
	db, err = bolt.Open(path, 0o600, nil)
	require.NoError(t, err)
	defer db.Close()
	require.NoError(t, db.View(func(tx *bolt.Tx) error {
		require.Equal(t, strconv.Itoa(layout), string(tx.Bucket(bucketMeta).Get(layoutKey)))
		require.Nil(t, tx.Bucket(bucketIncidentAlertsV2), "layout 2's records are gone")
		require.Equal(t, tx.Bucket(bucketAlertSeen).Stats().KeyN, tx.Bucket(bucketAlertDetails).Stats().KeyN)
		return nil
	}))
}

// TestNewerLayoutRefused: a file of a layout this version does not know
// is never read wrongly; Open says what to do, and leaves its log as it
// is: it holds the newer Klaxon's answered batches, which this one must
// neither replay into the file nor reset (as it did before it checked).
func TestNewerLayoutRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "klaxon.db")
	s, err := Open(path)
	require.NoError(t, err)
	require.NoError(t, s.Close())
	db, err := bolt.Open(path, 0o600, nil)
	require.NoError(t, err)
	newer := strconv.Itoa(layout + 1)
	require.NoError(t, db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketMeta).Put(layoutKey, []byte(newer)) }))
	require.NoError(t, db.Close())
	theirs := appendFrame(nil, 1, []byte("a batch of a newer layout"))
	require.NoError(t, os.WriteFile(path+"-wal", theirs, 0o600))

	_, err = Open(path)
	require.ErrorContains(t, err, "layout "+newer+", written by a newer Klaxon")
	after, err := os.ReadFile(path + "-wal")
	require.NoError(t, err)
	require.Equal(t, theirs, after, "the newer Klaxon's log is left as it was")
}

// TestUpgradeLayout3: a file of layout 3 (the same records, written
// before the log) opens at the current layout with all it holds; a
// Klaxon of layout 3 would refuse the file now, instead of reading it
// without its log.
func TestUpgradeLayout3(t *testing.T) {
	path := filepath.Join(t.TempDir(), "klaxon.db")
	s, err := Open(path)
	require.NoError(t, err)
	c := storetest.NewIncidentCommit(1, time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC))
	require.NoError(t, s.Commit(t.Context(), c))
	require.NoError(t, s.Close())
	db, err := bolt.Open(path, 0o600, nil)
	require.NoError(t, err)
	require.NoError(t, db.Update(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		require.Equal(t, strconv.Itoa(layout), string(meta.Get(layoutKey)))
		if err := meta.Delete(logKey); err != nil { // as layout 3 wrote it
			return err
		}
		if err := tx.DeleteBucket(bucketPaged); err != nil {
			return err
		}
		return meta.Put(layoutKey, []byte("3"))
	}))
	require.NoError(t, db.Close())
	require.NoError(t, os.Remove(path+"-wal"))

	s, err = Open(path)
	require.NoError(t, err)
	defer s.Close()
	inc, err := s.Incident(t.Context(), c.Open)
	require.NoError(t, err)
	require.Equal(t, c.Open, inc.ID)
	require.NoError(t, s.view(func(tx *txn) error {
		require.Equal(t, strconv.Itoa(layout), string(tx.Bucket(bucketMeta).Get(layoutKey)))
		return nil
	}))
}

// TestUpgradeLayout4: the open incidents of a file of layout 4, written
// before the index of pages by user, are in the index at layout 5: a
// reply after the upgrade finds the incident that paged its sender. A
// Klaxon of layout 4 would refuse the file now, instead of paging
// without the index.
func TestUpgradeLayout4(t *testing.T) {
	path := filepath.Join(t.TempDir(), "klaxon.db")
	s, err := Open(path)
	require.NoError(t, err)
	id := storetest.CommitUnindexedPages(t, s)
	require.NoError(t, s.Close())
	db, err := bolt.Open(path, 0o600, nil)
	require.NoError(t, err)
	require.NoError(t, db.Update(func(tx *bolt.Tx) error {
		require.Equal(t, strconv.Itoa(layout), string(tx.Bucket(bucketMeta).Get(layoutKey)))
		if err := tx.DeleteBucket(bucketPaged); err != nil { // as layout 4 wrote it
			return err
		}
		return tx.Bucket(bucketMeta).Put(layoutKey, []byte("4"))
	}))
	require.NoError(t, db.Close())

	for range 2 {
		s, err = Open(path)
		require.NoError(t, err)
		storetest.CheckIndexedPages(t, s, id)
		require.NoError(t, s.view(func(tx *txn) error {
			require.Equal(t, strconv.Itoa(layout), string(tx.Bucket(bucketMeta).Get(layoutKey)))
			return nil
		}))
		require.NoError(t, s.Close())
	}
}

// TestUpgradeLayout4File opens a file that layout 4 wrote
// (testdata/v4.db: incident 1 open, its page to alice sent and its page
// to bob pending; incident 2 resolved, having paged alice) and finds, in
// layout 5, incident 1 among the pages of each, and not incident 2.
func TestUpgradeLayout4File(t *testing.T) {
	path := copyFile(t, "v4.db")
	for range 2 {
		s, err := Open(path)
		require.NoError(t, err)
		for _, user := range []string{"alice", "bob"} {
			paged, err := s.PagedIncidents(t.Context(), user)
			require.NoError(t, err)
			ids := make([]string, len(paged))
			for i, inc := range paged {
				ids[i] = inc.ID
			}
			require.Equal(t, []string{"1"}, ids, "the open incidents that paged %s", user)
		}
		nobody, err := s.PagedIncidents(t.Context(), "carol")
		require.NoError(t, err)
		require.Empty(t, nobody)
		inc, err := s.Incident(t.Context(), "2")
		require.NoError(t, err)
		require.Equal(t, klaxon.StateResolved, inc.State, "the resolved incident is read as it was")
		require.NoError(t, s.view(func(tx *txn) error {
			require.Equal(t, strconv.Itoa(layout), string(tx.Bucket(bucketMeta).Get(layoutKey)))
			return nil
		}))
		require.NoError(t, s.Close())
	}
}

// TestUpgradeLayout5File opens a file that layout 5 wrote, with its one
// log file as a process killed after two commits left them
// (testdata/v5.db: incident 1 in the file; testdata/v5.db-wal: incident
// 2 in the log alone), and finds both, five alerts each, at layout 6.
func TestUpgradeLayout5File(t *testing.T) {
	path := copyFile(t, "v5.db")
	wal, err := os.ReadFile(filepath.Join("testdata", "v5.db-wal"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path+"-wal", wal, 0o600))
	for range 2 {
		s, err := Open(path)
		require.NoError(t, err)
		for _, id := range []string{"1", "2"} {
			inc, err := s.Incident(t.Context(), id)
			require.NoError(t, err, "incident %s", id)
			require.Equal(t, 5, inc.AlertCount)
			alerts, _, err := s.IncidentAlerts(t.Context(), id, "", 10)
			require.NoError(t, err)
			require.Len(t, alerts, 5)
		}
		require.NoError(t, s.view(func(tx *txn) error {
			require.Equal(t, "6", string(tx.Bucket(bucketMeta).Get(layoutKey)))
			return nil
		}))
		require.NoError(t, s.Close())
	}
}

// TestUpgradeLayout2JSONRecords opens a file of layout 2 as its first
// version wrote it, with alert records in JSON (testdata/v2-json.db: one
// incident of one alert), and reads its alert whole.
func TestUpgradeLayout2JSONRecords(t *testing.T) {
	s, err := Open(copyFile(t, "v2-json.db"))
	require.NoError(t, err)
	defer s.Close()
	list, err := s.Incidents(t.Context(), klaxon.IncidentFilter{})
	require.NoError(t, err)
	require.Len(t, list, 1)
	alerts, _, err := s.IncidentAlerts(t.Context(), list[0].ID, "", 10)
	require.NoError(t, err)
	require.Len(t, alerts, 1)
	require.NotEmpty(t, alerts[0].Key)
	require.Equal(t, klaxon.Firing, alerts[0].Status)
	g, err := s.Group(t.Context(), list[0].Group, []string{alerts[0].Key})
	require.NoError(t, err)
	require.Equal(t, alerts[0].Seen(), g.Alerts[alerts[0].Key])
}
