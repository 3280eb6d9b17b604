package embedded

import (
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"sync"

	"github.com/klaxonhq/klaxon"
)

// Group reads a group, its open incident's header and, of alerts, the
// records that incident holds. A group never written has Version 0 and no
// open incident. The header comes from the cache when it holds the
// version stored.
func (s *Store) Group(ctx context.Context, key string, alerts []string) (klaxon.Group, error) {
	return s.group(ctx, key, alerts)
}

// AlertsAfter reads what a commit to be queued after after needs of the
// group (see klaxon.CommitQueue): it does not wait for the batch on its
// way to the log when what that batch wrote of the group is after's or
// that of the commits after follows, and decodes no header.
func (s *Store) AlertsAfter(ctx context.Context, key string, alerts []string, after klaxon.Queued) (string, map[string]klaxon.Seen, error) {
	if err := ctx.Err(); err != nil {
		return "", nil, fmt.Errorf("read group %s: %w", key, err)
	}
	var chain *write
	if p, ok := after.(*pending); ok && p.s == s && p.c.Group == key {
		chain = p.wr
	}
	var open string
	var seen map[string]klaxon.Seen
	err := s.viewGroup(key, chain, func(tx *txn) error {
		var err error
		if _, open = getGroup(tx, key); open != "" {
			seen, err = getAlerts(tx, open, alerts)
		}
		return err
	})
	if err != nil {
		return "", nil, fmt.Errorf("read group %s: %w", key, err)
	}
	return open, seen, nil
}

func (s *Store) group(ctx context.Context, key string, alerts []string) (klaxon.Group, error) {
	if err := ctx.Err(); err != nil {
		return klaxon.Group{}, fmt.Errorf("read group %s: %w", key, err)
	}
	g := klaxon.Group{Key: key}
	err := s.viewGroup(key, nil, func(tx *txn) error {
		version, open := getGroup(tx, key)
		g.Version = version
		if open == "" {
			return nil
		}
		if inc := s.cache.Header(key, version, ""); inc != nil && inc.ID == open {
			g.Open = inc
		} else {
			inc, err := getIncident(tx, open)
			if err != nil {
				return fmt.Errorf("open incident: %w", err)
			}
			g.Open = inc
		}
		var err error
		g.Alerts, err = getAlerts(tx, open, alerts)
		return err
	})
	if err != nil {
		return klaxon.Group{}, fmt.Errorf("read group %s: %w", key, err)
	}
	// A read newer than the cache is of a commit the writer has yet to
	// hand it, and the writer may hand the cache a later one meanwhile:
	// the cache keeps what it holds of another version.
	if g.Open != nil {
		s.cache.PutAt(key, g.Version, g.Open)
	}
	return g, nil
}

// Commit applies c if the group is still at c.Version; otherwise it
// returns an error matching klaxon.ErrConflict and changes nothing. Within
// c, Cancel wins over Timers. Commits that arrive together share one
// transaction and one fsync; each returns once it is durable.
func (s *Store) Commit(ctx context.Context, c klaxon.Commit) error {
	q, err := s.Queue(ctx, c, nil, nil)
	if err != nil {
		return err
	}
	return q.Wait()
}

// pending is a commit queued for the writer.
type pending struct {
	s  *Store
	c  klaxon.Commit
	wr *write
	// owed is set by the writer (each run of the commit starts it anew),
	// and read once wr is done: the incidents the commit closed whose
	// unindexing it left owed.
	owed []string
	// unindexed makes Wait unindex them once.
	unindexed sync.Once
}

// Done is closed once the writer wrote or refused the commit.
func (p *pending) Done() <-chan struct{} { return p.wr.done }

// Wait returns once the commit is durable, or with why it was not made.
// A commit that closed an incident of a storm then takes its alerts out
// of the index before Wait returns, in writes of their own (see
// unindex.go). That the commit landed is what Wait returns: a write of
// them that failed leaves the rest owed, for Store.Unindex.
func (p *pending) Wait() error {
	if err := p.s.w.wait(p.wr); err != nil {
		return fmt.Errorf("commit group %s: %w", p.c.Group, err)
	}
	p.unindexed.Do(func() {
		for _, id := range p.owed {
			if p.s.unindexOwed(context.Background(), id) != nil {
				return
			}
		}
	})
	return nil
}

// Queue encodes c and queues it for the writer (see klaxon.CommitQueue):
// the writer takes a group's commits in the order they were queued, in
// one transaction or one after the other, and c is refused unless after,
// when given, applied. landed, when not nil, is called once c is durable.
func (s *Store) Queue(ctx context.Context, c klaxon.Commit, after klaxon.Queued, landed func()) (klaxon.Queued, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("commit group %s: %w", c.Group, err)
	}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("commit group %s: %w", c.Group, err)
	}
	var prev *write
	if after != nil {
		p, ok := after.(*pending)
		if !ok || p.s != s || p.c.Group != c.Group || p.c.Urgent || c.Urgent {
			return nil, fmt.Errorf("commit group %s: after a commit this store did not queue for the group, or an urgent one: %w", c.Group, klaxon.ErrInvalid)
		}
		prev = p.wr
	}
	// A header that the store holds as it is is neither encoded nor
	// written: the cache holds the header stored at its version, and
	// should c land, the group is still at c.Version. The cache holds
	// only durable states (see groupcache.Header): the writer hands it a
	// commit once it is durable, and a group read waits for the batch on
	// its way that wrote the group.
	stored := s.cache.Header(c.Group, c.Version, c.Token)
	encoded := make([]encodedIncident, len(c.Incidents))
	for i, inc := range c.Incidents {
		var err error
		if encoded[i], err = encodeIncident(inc, stored, after != nil); err != nil {
			return nil, fmt.Errorf("commit group %s: %w", c.Group, err)
		}
	}
	// The cache follows the file commit by commit, in the writer's
	// order, so that a group read at the version stored finds it there.
	// The keys of c.Index that moved from another group: the writer may
	// run the commit again (mem rebuilt after a batch that
	// failed), so each run starts them anew, and c.Moved has them only
	// once the commit is durable.
	var moved *[]klaxon.Move
	if c.Moved != nil {
		moved = new([]klaxon.Move)
	}
	durable := func() {
		s.cache.Committed(c, "")
		if moved != nil {
			*c.Moved = append(*c.Moved, *moved...)
		}
		if landed != nil {
			landed()
		}
	}
	p := &pending{s: s, c: c}
	var err error
	p.wr, err = s.w.queue(ctx, c.Urgent, c.Group, func(tx *txn) error { return commit(tx, c, encoded, moved, &p.owed) }, prev, durable)
	if err != nil {
		return nil, fmt.Errorf("commit group %s: %w", c.Group, err)
	}
	return p, nil
}

// commit writes c, whose incidents encodeIncident made into encoded, in
// tx. It checks everything that can refuse c before it writes anything
// (see write). moved, when not nil, is set to the keys of c.Index that
// another group had indexed; owed to the incidents it closed whose
// unindexing it left owed (see unindex.go).
func commit(tx *txn, c klaxon.Commit, encoded []encodedIncident, moved *[]klaxon.Move, owed *[]string) error {
	*owed = (*owed)[:0]
	version, open := getGroup(tx, c.Group)
	if version != c.Version {
		return fmt.Errorf("at version %d, not %d: %w", version, c.Version, klaxon.ErrConflict)
	}
	if c.Open != "" && !slices.ContainsFunc(c.Incidents, func(inc *klaxon.Incident) bool { return inc.ID == c.Open }) &&
		tx.Bucket(bucketIncidents).Get(incidentKey(c.Open)) == nil {
		return fmt.Errorf("open incident %s: %w", c.Open, klaxon.ErrNotFound)
	}
	for i, inc := range c.Incidents {
		// An incident the commit opens and closes (a fold of a firing
		// and its resolve on a group with none open) is the group's
		// last closed one too: a report late to it must find it.
		fresh := !inc.State.Open() && inc.ID != open && tx.Bucket(bucketIncidents).Get(encoded[i].key) == nil
		if err := putIncident(tx, encoded[i]); err != nil {
			return err
		}
		if fresh {
			if err := tx.Bucket(bucketClosed).Put([]byte(c.Group), []byte(inc.ID)); err != nil {
				return fmt.Errorf("put the group's closed incident: %w", err)
			}
		}
		if inc.ID == open && !inc.State.Open() {
			if inc.AlertCount > unindexChunk {
				if err := oweUnindex(tx, c.Group, inc.ID); err != nil {
					return err
				}
				*owed = append(*owed, inc.ID)
			} else if err := unindex(tx, c.Group, inc.ID); err != nil {
				return err
			}
			if err := tx.Bucket(bucketClosed).Put([]byte(c.Group), []byte(inc.ID)); err != nil {
				return fmt.Errorf("put the group's closed incident: %w", err)
			}
		}
	}
	if err := indexPaged(tx, c.Paged); err != nil {
		return err
	}
	// After the unindexing: a key the commit indexes for the group's next
	// incident stays indexed.
	if err := index(tx, c, moved); err != nil {
		return err
	}
	if moved != nil {
		if err := owe(tx, *moved); err != nil {
			return err
		}
	}
	if err := putGroup(tx, c.Group, c.Version+1, c.Open); err != nil {
		return err
	}
	for _, t := range c.Timers {
		if err := setTimer(tx, t, c.Claim); err != nil {
			return err
		}
	}
	for _, id := range c.Cancel {
		if err := cancelTimer(tx, id, c.Claim); err != nil {
			return err
		}
	}
	return nil
}

// getGroup returns the stored version and open incident of a group.
func getGroup(tx *txn, key string) (version uint64, open string) {
	v := tx.Bucket(bucketGroups).Get([]byte(key))
	if len(v) < 8 {
		return 0, ""
	}
	return binary.BigEndian.Uint64(v[:8]), string(v[8:])
}

func putGroup(tx *txn, key string, version uint64, open string) error {
	v := make([]byte, 8, 8+len(open))
	binary.BigEndian.PutUint64(v, version)
	v = append(v, open...)
	if err := tx.Bucket(bucketGroups).Put([]byte(key), v); err != nil {
		return fmt.Errorf("put group: %w", err)
	}
	return nil
}

// index points the alert keys of c.Index at c.Group. moved, when not
// nil, is set to the keys that another group had indexed, with that
// group.
func index(tx *txn, c klaxon.Commit, moved *[]klaxon.Move) error {
	b := tx.Bucket(bucketAlerts)
	if moved != nil {
		*moved = (*moved)[:0]
	}
	group := c.Group
	for _, key := range c.Index {
		if moved != nil {
			if from := b.Get([]byte(key)); from != nil && string(from) != group {
				*moved = append(*moved, klaxon.Move{Alert: key, From: string(from), Group: group, To: c.Open, At: c.At})
			}
		}
		if err := b.Put([]byte(key), []byte(group)); err != nil {
			return fmt.Errorf("index alert %s: %w", key, err)
		}
	}
	return nil
}

// unindex removes the alerts of incident id from the index, each only if
// it still points at group: a key may have moved to another group since.
func unindex(tx *txn, group, id string) error {
	_, _, err := unindexFrom(tx, group, incidentKey(id), nil, nil, 0)
	return err
}

// ClosedAlerts reads what group's last closed incident keeps of alerts.
func (s *Store) ClosedAlerts(ctx context.Context, group string, alerts []string) (string, map[string]klaxon.Seen, error) {
	if err := ctx.Err(); err != nil {
		return "", nil, fmt.Errorf("read the closed incident of group %s: %w", group, err)
	}
	var id string
	var seen map[string]klaxon.Seen
	err := s.viewGroup(group, nil, func(tx *txn) error {
		v := tx.Bucket(bucketClosed).Get([]byte(group))
		if v == nil {
			return nil
		}
		var err error
		id = string(v)
		seen, err = getAlerts(tx, id, alerts)
		return err
	})
	if err != nil {
		return "", nil, fmt.Errorf("read the closed incident of group %s: %w", group, err)
	}
	return id, seen, nil
}

// AlertGroups returns the group of each indexed key; keys not indexed are
// absent from the map.
func (s *Store) AlertGroups(ctx context.Context, keys []string) (map[string]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("read alert groups: %w", err)
	}
	groups := make(map[string]string, len(keys))
	err := s.view(func(tx *txn) error {
		b := tx.Bucket(bucketAlerts)
		for _, key := range keys {
			if v := b.Get([]byte(key)); v != nil {
				groups[key] = string(v)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read alert groups: %w", err)
	}
	return groups, nil
}
