package embedded

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"sync"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/store/internal/alertrecord"
	"github.com/klaxonhq/klaxon/store/internal/incidentjson"
)

// idBlock is how many incident IDs one write reserves.
const idBlock = 32

// ids hands out the incident IDs a write reserved.
type ids struct {
	mu        sync.Mutex
	next, end uint64 // next is handed out next while below end
}

// NextIncidentID allocates the next decimal ID: "1", "2", … An ID is never
// handed out twice, also across restarts. A write reserves idBlock IDs at
// a time, so that opening an incident seldom waits for a write of its
// own; the IDs a process reserved and did not hand out are skipped after
// a restart.
func (s *Store) NextIncidentID(ctx context.Context) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", fmt.Errorf("allocate incident id: %w", err)
	}
	s.ids.mu.Lock()
	defer s.ids.mu.Unlock()
	if s.ids.next == s.ids.end {
		var last uint64
		err := s.update(ctx, false, func(tx *txn) error {
			b := tx.Bucket(bucketIDs)
			last = b.Sequence() + idBlock
			return b.SetSequence(last)
		})
		if err != nil {
			return "", fmt.Errorf("allocate incident id: %w", err)
		}
		s.ids.next, s.ids.end = last-idBlock+1, last+1
	}
	n := s.ids.next
	s.ids.next++
	return strconv.FormatUint(n, 10), nil
}

// Incident reads one incident's header; the error matches klaxon.ErrNotFound if
// there is none.
func (s *Store) Incident(ctx context.Context, id string) (*klaxon.Incident, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("read incident %s: %w", id, err)
	}
	var inc *klaxon.Incident
	err := s.view(func(tx *txn) (err error) {
		inc, err = getIncident(tx, id)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("read incident %s: %w", id, err)
	}
	return inc, nil
}

// Incidents lists incidents newest first, by ID. A filter without states
// lists the open ones (triggered and acknowledged) from the open index;
// listing other states walks every incident, newest first (from Before),
// until Limit.
//
// A read holds up the writer, so the walk reads listChunk headers at a
// time, each chunk a read of its own that goes on before the last ID
// the chunk before read: a list that reads every header of a large store
// (a filter that few incidents pass) does not hold up ingest and the
// escalation engine for its whole length. An incident whose state
// changes between two chunks is listed as the chunk that reads it finds
// it; a resolved one leaves the open index, and no ID is read twice.
func (s *Store) Incidents(ctx context.Context, f klaxon.IncidentFilter) ([]*klaxon.Incident, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("list incidents: %w", err)
	}
	states := f.States
	if len(states) == 0 {
		states = []klaxon.State{klaxon.StateTriggered, klaxon.StateAcknowledged}
	}
	if f.Before != "" {
		if err := klaxon.CheckIncidentID(f.Before); err != nil {
			return nil, fmt.Errorf("list incidents: %w", err)
		}
	}
	onlyOpen := !slices.ContainsFunc(states, func(s klaxon.State) bool { return !s.Open() })
	var list []*klaxon.Incident
	before := f.Before
	err := s.inChunks(ctx, func(tx *txn) (bool, error) {
		all := tx.Bucket(bucketIncidents)
		walk := all
		if onlyOpen {
			walk = tx.Bucket(bucketOpen)
		}
		c := walk.Cursor()
		k, _ := c.Last()
		if before != "" {
			// The first key at or past before's, then the one before it.
			if k, _ = c.Seek(incidentKey(before)); k == nil {
				k, _ = c.Last()
			} else {
				k, _ = c.Prev()
			}
		}
		for n := 0; k != nil; k, _ = c.Prev() {
			if n == listChunk {
				return false, nil // the next chunk goes on from before
			}
			n++
			before = string(k[1:])
			inc, err := decodeIncident(all.Get(k))
			if err != nil {
				return false, fmt.Errorf("incident %s: %w", k[1:], err)
			}
			if !slices.Contains(states, inc.State) || !f.Keeps(inc) {
				continue
			}
			list = append(list, inc)
			if f.Limit > 0 && len(list) == f.Limit {
				break
			}
		}
		return true, nil
	})
	if err != nil {
		return nil, fmt.Errorf("list incidents: %w", err)
	}
	return list, nil
}

// listChunk is how many headers a list reads in one read.
const listChunk = 256

// inChunks runs read, each time in a read of its own, until it reports
// done: a walk over many records reads listChunk of them a time and goes
// on where the read before stopped, so that the writer, which a read
// holds up, waits for a chunk and not for the whole walk.
func (s *Store) inChunks(ctx context.Context, read func(tx *txn) (done bool, err error)) error {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		var done bool
		if err := s.view(func(tx *txn) (err error) {
			done, err = read(tx)
			return err
		}); err != nil || done {
			return err
		}
	}
}

// incidentKey is the ID prefixed by its length, so that a cursor walks
// decimal IDs in numeric order: "9" < "10".
func incidentKey(id string) []byte {
	return append([]byte{byte(len(id))}, id...)
}

// incidentExists reports ErrNotFound for an incident there is none of,
// without decoding the one there is.
func incidentExists(tx *txn, id string) error {
	if klaxon.CheckIncidentID(id) != nil || tx.Bucket(bucketIncidents).Get(incidentKey(id)) == nil {
		return fmt.Errorf("incident %s: %w", id, klaxon.ErrNotFound)
	}
	return nil
}

func getIncident(tx *txn, id string) (*klaxon.Incident, error) {
	if klaxon.CheckIncidentID(id) != nil {
		return nil, fmt.Errorf("incident %s: %w", id, klaxon.ErrNotFound)
	}
	v := tx.Bucket(bucketIncidents).Get(incidentKey(id))
	if v == nil {
		return nil, fmt.Errorf("incident %s: %w", id, klaxon.ErrNotFound)
	}
	inc, err := decodeIncident(v)
	if err != nil {
		return nil, fmt.Errorf("incident %s: %w", id, err)
	}
	return inc, nil
}

func decodeIncident(v []byte) (*klaxon.Incident, error) {
	var inc klaxon.Incident
	if err := json.Unmarshal(v, &inc); err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	return &inc, nil
}

// encodedIncident is an incident of a commit as the file holds it,
// encoded before the commit reaches the writer, so that the one goroutine
// that writes spends its time writing.
type encodedIncident struct {
	id     string
	key    []byte
	open   bool
	header []byte // nil when the store holds it already (see Store.Queue)
	alerts []encodedAlert
	events [][]byte
}

// encodedAlert is an alert's records; details is nil when the store
// holds them already (see encodeIncident).
type encodedAlert struct {
	key, seen, details []byte
	// partial: the report said only the alert's status (see
	// klaxon.Alert.Partial); its stored details stay.
	partial bool
}

// keeps reports whether stored, the details record the file holds for a,
// is to stay: it is a's, or a's report was partial.
func (a *encodedAlert) keeps(stored []byte) bool {
	return stored != nil && (a.partial || bytes.Equal(stored, a.details))
}

// encodeIncident encodes inc's header, its changed alerts and its
// recorded events. A header the same as stored, the header the store
// holds in the state inc was folded on (nil if unknown), is not encoded.
//
// An alert's seen record carries the digest of its details record
// (alertrecord.EncodeSeenDigest), but a partial report's, whose stored
// details stay: the details that a state folded from the record holds are
// then known by their digest (AlertState.Stored), with no read of them.
// Where inc was folded on the group as stored (a commit that follows no
// other), details whose digest is that one are what the store holds,
// should the commit land, and are not written; the writer compares the
// others with what it holds.
func encodeIncident(inc *klaxon.Incident, stored *klaxon.Incident, follows bool) (encodedIncident, error) {
	e := encodedIncident{id: inc.ID, key: incidentKey(inc.ID), open: inc.State.Open()}
	var err error
	if stored == nil || stored.ID != inc.ID || !inc.SameHeader(stored) {
		if e.header, err = incidentjson.Header(inc); err != nil {
			return e, fmt.Errorf("encode incident %s: %w", inc.ID, err)
		}
	}
	size := 0
	for i := range inc.Changed {
		size += alertrecord.Size(&inc.Changed[i]) + alertrecord.DigestSize
	}
	arena := make([]byte, 0, size) // one buffer for the records
	e.alerts = make([]encodedAlert, len(inc.Changed))
	for i := range inc.Changed {
		a := &inc.Changed[i]
		start := len(arena)
		arena = alertrecord.EncodeDetails(arena, a)
		details := arena[start:len(arena):len(arena)]
		start = len(arena)
		digest := alertrecord.Digest(details)
		if a.Partial {
			arena, err = alertrecord.EncodeSeen(arena, a)
		} else {
			arena, err = alertrecord.EncodeSeenDigest(arena, a, digest)
		}
		if err != nil {
			return e, fmt.Errorf("encode incident %s: %w", inc.ID, err)
		}
		if !follows && !a.Partial && a.Stored != 0 && a.Stored == digest {
			details = nil // as stored
		}
		e.alerts[i] = encodedAlert{
			key:     alertRecordKey(e.key, a.Key),
			seen:    arena[start:len(arena):len(arena)],
			details: details,
			partial: a.Partial,
		}
	}
	if e.events, err = incidentjson.Events(inc); err != nil {
		return e, fmt.Errorf("encode event of incident %s: %w", inc.ID, err)
	}
	return e, nil
}

// putIncident writes an encoded incident's header, its changed alerts and
// its recorded events, and keeps the open index in step with its state.
// A header or details record that the store holds as it is stays: most
// of a storm's alerts are new occurrences of alerts whose labels and
// annotations are the same, in an incident whose header stays the same,
// and a Get costs the writer less than a Put of the same bytes, which
// the layer, the log and the next checkpoint would each take.
func putIncident(tx *txn, inc encodedIncident) error {
	if inc.header != nil {
		if err := putHeader(tx, inc); err != nil {
			return err
		}
	}
	seen, details := tx.Bucket(bucketAlertSeen), tx.Bucket(bucketAlertDetails)
	for _, a := range inc.alerts {
		if err := seen.Put(a.key, a.seen); err != nil {
			return fmt.Errorf("put alert of incident %s: %w", inc.id, err)
		}
		if a.details == nil {
			continue
		}
		if a.keeps(details.Get(a.key)) {
			continue
		}
		if err := details.Put(a.key, a.details); err != nil {
			return fmt.Errorf("put alert of incident %s: %w", inc.id, err)
		}
	}
	if len(inc.events) > 0 {
		events := tx.Bucket(bucketEvents)
		n := tx.eventCount(events, inc.key)
		for i, v := range inc.events {
			if err := events.Put(eventKey(inc.key, n+uint64(i)), v); err != nil {
				return fmt.Errorf("append event to incident %s: %w", inc.id, err)
			}
		}
		tx.appended(inc.key, n+uint64(len(inc.events)))
	}
	return nil
}

// putHeader writes inc's header, unless the store holds it as it is, and
// keeps the open index in step with its state. A header not written
// leaves the index as it is: the commit that wrote that header put it in
// step.
func putHeader(tx *txn, inc encodedIncident) error {
	headers := tx.Bucket(bucketIncidents)
	if !bytes.Equal(headers.Get(inc.key), inc.header) {
		if err := headers.Put(inc.key, inc.header); err != nil {
			return fmt.Errorf("put incident %s: %w", inc.id, err)
		}
	}
	// The open index is written only when it changes: a Put, even of what
	// is there, rewrites the page.
	open := tx.Bucket(bucketOpen)
	var err error
	switch indexed := open.Get(inc.key) != nil; {
	case inc.open && !indexed:
		err = open.Put(inc.key, []byte{})
	case !inc.open && indexed:
		err = open.Delete(inc.key)
	}
	if err != nil {
		return fmt.Errorf("index incident %s: %w", inc.id, err)
	}
	return nil
}

// alertRecordKey is where the record of an alert of an incident is: the
// incident's key, then the alert key, so that an incident's alerts are
// one range in key order.
func alertRecordKey(incKey []byte, alert string) []byte {
	k := make([]byte, 0, len(incKey)+len(alert))
	return append(append(k, incKey...), alert...)
}

// getAlerts reads what incident id keeps of those of keys it holds.
func getAlerts(tx *txn, id string, keys []string) (map[string]klaxon.Seen, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	b := tx.Bucket(bucketAlertSeen)
	incKey := incidentKey(id)
	out := make(map[string]klaxon.Seen, len(keys))
	for _, k := range keys {
		v := b.Get(alertRecordKey(incKey, k))
		if v == nil {
			continue
		}
		s, err := alertrecord.DecodeSeen(v)
		if err != nil {
			return nil, fmt.Errorf("alert %s of incident %s: %w", k, id, err)
		}
		out[k] = s
	}
	return out, nil
}

// eventKey is where the n-th event of an incident's timeline is.
func eventKey(incKey []byte, n uint64) []byte {
	return binary.BigEndian.AppendUint64(bytes.Clone(incKey), n)
}

// eventCount is how many events the timeline of the incident with key
// incKey holds: one more than the number of its last.
func eventCount(b *bucket, incKey []byte) uint64 {
	c := b.Cursor()
	k, _ := c.Seek(eventKey(incKey, math.MaxUint64))
	if k == nil {
		k, _ = c.Last()
	} else if !bytes.Equal(k, eventKey(incKey, math.MaxUint64)) {
		k, _ = c.Prev()
	}
	if len(k) != len(incKey)+8 || !bytes.HasPrefix(k, incKey) {
		return 0
	}
	return binary.BigEndian.Uint64(k[len(incKey):]) + 1
}

// IncidentAlerts reads a page of up to limit alerts of incident id, in
// key order, after cursor (an alert key; "" for the first page).
func (s *Store) IncidentAlerts(ctx context.Context, id, cursor string, limit int) ([]klaxon.AlertState, string, error) {
	if err := ctx.Err(); err != nil {
		return nil, "", fmt.Errorf("read alerts of incident %s: %w", id, err)
	}
	limit = max(limit, 1)
	var out []klaxon.AlertState
	next := ""
	err := s.view(func(tx *txn) error {
		if err := incidentExists(tx, id); err != nil {
			return err
		}
		prefix := incidentKey(id)
		seen := tx.Bucket(bucketAlertSeen)
		c := tx.Bucket(bucketAlertDetails).Cursor()
		k, v := c.Seek(alertRecordKey(prefix, cursor))
		if cursor != "" && k != nil && string(k[len(prefix):]) == cursor {
			k, v = c.Next()
		}
		for ; k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			if len(out) == limit {
				next = out[len(out)-1].Key
				break
			}
			a, err := alertrecord.Join(seen.Get(k), v)
			if err != nil {
				return fmt.Errorf("alert %s: %w", k[len(prefix):], err)
			}
			a.Stored = 0 // this store's own, for folds
			out = append(out, a)
		}
		return nil
	})
	if err != nil {
		return nil, "", fmt.Errorf("read alerts of incident %s: %w", id, err)
	}
	return out, next, nil
}

// Timeline reads up to limit events of incident id from the offset-th,
// and how many it has.
func (s *Store) Timeline(ctx context.Context, id string, offset, limit int) ([]klaxon.Event, int, error) {
	if err := ctx.Err(); err != nil {
		return nil, 0, fmt.Errorf("read timeline of incident %s: %w", id, err)
	}
	var out []klaxon.Event
	total := 0
	err := s.view(func(tx *txn) error {
		if err := incidentExists(tx, id); err != nil {
			return err
		}
		prefix := incidentKey(id)
		b := tx.Bucket(bucketEvents)
		total = int(eventCount(b, prefix))
		c := b.Cursor()
		for k, v := c.Seek(eventKey(prefix, uint64(max(offset, 0)))); k != nil && bytes.HasPrefix(k, prefix) && len(out) < limit; k, v = c.Next() {
			var e klaxon.Event
			if err := json.Unmarshal(v, &e); err != nil {
				return fmt.Errorf("decode event: %w", err)
			}
			out = append(out, e)
		}
		return nil
	})
	if err != nil {
		return nil, 0, fmt.Errorf("read timeline of incident %s: %w", id, err)
	}
	return out, total, nil
}
