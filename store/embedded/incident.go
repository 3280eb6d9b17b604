package embedded

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"

	"github.com/klaxonhq/klaxon"
	bolt "go.etcd.io/bbolt"
)

// NextIncidentID allocates the next decimal ID: "1", "2", … An ID is never
// handed out twice, also across restarts.
func (s *Store) NextIncidentID(ctx context.Context) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", fmt.Errorf("allocate incident id: %w", err)
	}
	var n uint64
	// One fsync per ID; db.Batch could share it between concurrent callers.
	err := s.db.Update(func(tx *bolt.Tx) (err error) {
		n, err = tx.Bucket(bucketIDs).NextSequence()
		return err
	})
	if err != nil {
		return "", fmt.Errorf("allocate incident id: %w", err)
	}
	return strconv.FormatUint(n, 10), nil
}

// Incident reads one incident; the error matches klaxon.ErrNotFound if
// there is none.
func (s *Store) Incident(ctx context.Context, id string) (*klaxon.Incident, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("read incident %s: %w", id, err)
	}
	var inc *klaxon.Incident
	err := s.db.View(func(tx *bolt.Tx) (err error) {
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
// listing other states walks every incident, newest first, until Limit.
func (s *Store) Incidents(ctx context.Context, f klaxon.IncidentFilter) ([]*klaxon.Incident, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("list incidents: %w", err)
	}
	states := f.States
	if len(states) == 0 {
		states = []klaxon.State{klaxon.StateTriggered, klaxon.StateAcknowledged}
	}
	onlyOpen := !slices.ContainsFunc(states, func(s klaxon.State) bool { return !s.Open() })
	var list []*klaxon.Incident
	err := s.db.View(func(tx *bolt.Tx) error {
		all := tx.Bucket(bucketIncidents)
		walk := all
		if onlyOpen {
			walk = tx.Bucket(bucketOpen)
		}
		c := walk.Cursor()
		for k, _ := c.Last(); k != nil; k, _ = c.Prev() {
			inc, err := decodeIncident(all.Get(k))
			if err != nil {
				return fmt.Errorf("incident %s: %w", k[1:], err)
			}
			if !slices.Contains(states, inc.State) {
				continue
			}
			list = append(list, inc)
			if f.Limit > 0 && len(list) == f.Limit {
				break
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list incidents: %w", err)
	}
	return list, nil
}

// incidentKey is the ID prefixed by its length, so that a cursor walks
// decimal IDs in numeric order: "9" < "10".
func incidentKey(id string) []byte {
	return append([]byte{byte(len(id))}, id...)
}

func getIncident(tx *bolt.Tx, id string) (*klaxon.Incident, error) {
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

// putIncident writes inc whole and keeps the open index in step with its
// state.
func putIncident(tx *bolt.Tx, inc *klaxon.Incident) error {
	v, err := json.Marshal(inc)
	if err != nil {
		return fmt.Errorf("encode incident %s: %w", inc.ID, err)
	}
	key := incidentKey(inc.ID)
	if err := tx.Bucket(bucketIncidents).Put(key, v); err != nil {
		return fmt.Errorf("put incident %s: %w", inc.ID, err)
	}
	open := tx.Bucket(bucketOpen)
	if inc.State.Open() {
		err = open.Put(key, []byte{})
	} else {
		err = open.Delete(key)
	}
	if err != nil {
		return fmt.Errorf("index incident %s: %w", inc.ID, err)
	}
	return nil
}
