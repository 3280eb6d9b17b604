package embedded

import (
	"bytes"
	"fmt"
	"strconv"

	"github.com/klaxonhq/klaxon/store/internal/alertrecord"
	"github.com/klaxonhq/klaxon/store/internal/incidentv1"
	bolt "go.etcd.io/bbolt"
)

// The file's layout versions:
//
//	1  an incident is one JSON document with its alerts and timeline;
//	   the file has no meta bucket.
//	2  an incident is a header, its alerts one record each
//	   (incident_alerts) and its timeline one record per event (events).
//	3  each alert record is two: what a new occurrence changes
//	   (alert_seen) and the rest (alert_details).
//	4  the same records, and a log beside the file (path + "-wal") that
//	   may hold answered writes the file does not: a Klaxon that reads
//	   layouts up to 3 would not replay it, so it must refuse the file.
//	5  an index of pages by user (paged), which the commits that page
//	   write: a Klaxon of layout 4 would page without it, and replies
//	   would miss those incidents, so it must refuse the file. The
//	   upgrade indexes the pages of the open incidents.
//	6  a second log file (path + "-wal2"): a checkpoint commits the
//	   batches of one file while the next batches go to the other, so
//	   after a crash either may hold answered writes the file does not.
//	   A Klaxon of layout 5 would replay only the first, so it must
//	   refuse the file.
//
// Open replays the log, then upgrades a file of an older layout in
// place, in one transaction, and refuses one of a newer layout than it
// knows: a log is replayed into the layout that wrote it.
const layout = 6

// bucketIncidentAlertsV2 held layout 2's alert records.
var bucketIncidentAlertsV2 = []byte("incident_alerts")

var layoutKey = []byte("layout")

// layoutOf reads the layout the file records in meta; set is false when
// it records none.
func layoutOf(meta *bolt.Bucket) (n int, set bool, err error) {
	v := meta.Get(layoutKey)
	if v == nil {
		return 0, false, nil
	}
	if n, err = strconv.Atoi(string(v)); err != nil {
		return 0, false, fmt.Errorf("layout %q: not a number", v)
	}
	return n, true, nil
}

// newer refuses a file of a layout this Klaxon does not read. A layout
// that is no number is upgrade's to refuse.
func newer(tx *bolt.Tx) error {
	meta := tx.Bucket(bucketMeta)
	if meta == nil {
		return nil
	}
	if n, set, err := layoutOf(meta); err == nil && set && n > layout {
		return newerLayout(n)
	}
	return nil
}

// newerLayout is the error for a file of layout have, past this Klaxon's.
func newerLayout(have int) error {
	return fmt.Errorf("the file has layout %d, written by a newer Klaxon; this one reads layouts up to %d: run the newer version, or restore a backup taken before it ran", have, layout)
}

// upgrade creates the buckets a file lacks and brings its layout to the
// current one.
func upgrade(tx *bolt.Tx) error {
	fresh := tx.Bucket(bucketIncidents) == nil
	for _, name := range buckets {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return fmt.Errorf("bucket %s: %w", name, err)
		}
	}
	meta := tx.Bucket(bucketMeta)
	have, set, err := layoutOf(meta)
	switch {
	case err != nil:
		return err
	case !set && fresh:
		have = layout
	case !set:
		have = 1
	}
	switch {
	case have > layout:
		return newerLayout(have)
	case have == 1:
		// Layout 1 has no alert records: its incidents are written
		// straight into the current layout.
		if err := upgrade1(tx); err != nil {
			return fmt.Errorf("upgrade layout 1 to %d: %w", layout, err)
		}
	case have == 2:
		if err := upgrade2(tx); err != nil {
			return fmt.Errorf("upgrade layout 2 to 3: %w", err)
		}
	}
	if have < 5 {
		if err := indexOpen(&txn{tx: tx}); err != nil {
			return fmt.Errorf("upgrade layout %d to 5: index pages: %w", have, err)
		}
	}
	return meta.Put(layoutKey, []byte(strconv.Itoa(layout)))
}

// upgrade1 splits every incident of layout 1 into its header, alert
// records and events, one incident at a time, so that a large file takes
// the memory of its largest incident, not of all.
func upgrade1(tx *bolt.Tx) error {
	b := tx.Bucket(bucketIncidents)
	var keys [][]byte
	err := b.ForEach(func(k, _ []byte) error {
		keys = append(keys, bytes.Clone(k))
		return nil
	})
	if err != nil {
		return err
	}
	for _, k := range keys {
		inc, err := incidentv1.Decode(b.Get(k))
		if err != nil {
			return fmt.Errorf("incident %s: %w", k[1:], err)
		}
		enc, err := encodeIncident(inc, nil, false)
		if err != nil {
			return err
		}
		if err := putIncident(&txn{tx: tx}, enc); err != nil {
			return err
		}
	}
	return nil
}

// upgrade2 splits each alert record of layout 2 into its seen and details
// records, and drops layout 2's bucket.
func upgrade2(tx *bolt.Tx) error {
	old := tx.Bucket(bucketIncidentAlertsV2)
	if old == nil {
		return nil
	}
	seen, details := tx.Bucket(bucketAlertSeen), tx.Bucket(bucketAlertDetails)
	err := old.ForEach(func(k, v []byte) error {
		a, err := alertrecord.Decode(v)
		if err != nil {
			return fmt.Errorf("alert record %q: %w", k, err)
		}
		s, err := alertrecord.EncodeSeen(nil, &a)
		if err != nil {
			return err
		}
		key := bytes.Clone(k)
		if err := seen.Put(key, s); err != nil {
			return err
		}
		return details.Put(key, alertrecord.EncodeDetails(nil, &a))
	})
	if err != nil {
		return err
	}
	return tx.DeleteBucket(bucketIncidentAlertsV2)
}
