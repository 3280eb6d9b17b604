package redis

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/klaxonhq/klaxon"
)

// Redis replicates asynchronously: a commit it answered may be on no
// replica yet when its master's host is lost, and a Sentinel failover
// then promotes a replica without it. Barrier makes a delivery's answer
// wait for replicas (Options.WaitReplicas): a barrier, a write of this
// process's key in a shard, is sent after the commits it vouches for and
// followed by WAIT on the same connection. Redis replicates a master's
// writes in the order it took them, so a replica that acknowledged the
// barrier holds every write the master took before it, whichever
// connection sent them: the commits of the delivery, and the state that
// a retry of it found already committed and wrote nothing to.
//
// That holds only on the master that took the commits. After a failover
// the barrier goes to the master promoted, which may lack them. So a
// caller marks, before its writes, which master holds each of its shards
// (Barrier): the master's address and its generation, which goes up each
// time a round at that address finds another server there (its run_id,
// read on the round's connection). The wait fails when a shard's master
// is no longer the one marked, and the sender's retry writes again what
// the new master lacks; the groups cached are forgotten then, so that
// the retry reads them from it.
//
// Callers that arrive while a master's barrier is out wait for the next,
// which follows their commits: one barrier and one WAIT serve every
// delivery that came meanwhile, to any shard of that master, as one
// fsync serves a batch of commits. Barriers go through a client of their
// own, a few connections that honour their deadline: a hung master holds
// them, not ingest's, and no longer than the wait.

// replication is the barriers of a store's masters.
type replication struct {
	replicas int
	timeout  time.Duration
	// key is the barrier key of a shard's tag; client the client of the
	// master that holds it (a cluster's, by its slot).
	key    func(tag string) string
	client func(ctx context.Context, key string) (*redis.Client, error)
	// send sends a round: sendRound, but in tests.
	send func(*round) error

	// changed is called when a master's address is found to hold
	// another server: what was read from the one before may be gone.
	changed func()

	mu       sync.Mutex
	barriers map[string]*masterBarrier // by master address
	runs     map[string]string         // by master address: the run_id last seen there
	gens     map[string]uint64         // by master address: how often another was found there
	ids      map[string]struct{}       // incidents whose ID maps a round acknowledged (confirm)
	// written are the ID maps commits wrote, by group, until a round
	// confirms them: the group's waits cover them, open or not.
	written  map[string][]string
	idPrefix string         // of the ID maps' keys: P:id:
	rounds   sync.WaitGroup // rounds out, which close waits for
}

// mark is which master held a shard before a caller's writes to it.
type mark struct {
	tag, addr string
	gen       uint64
	known     bool // the server at addr was seen: its writes are vouched for
	// id is the incident whose ID map the mark is of, if it is; idMap
	// that map, which the round writes again ahead of its barrier.
	id    string
	idMap idMap
}

// idMap is an incident's ID map: its key (P:id:<id>) and its group.
type idMap struct{ key, group string }

// masterBarrier is a master's: whether a round is out, and the next one,
// which callers join while the one out runs.
type masterBarrier struct {
	running bool
	next    *round
}

// round is one barrier and its WAIT, for the shards of tags; done closes
// once err is set.
type round struct {
	addr string // the master's address, as marked
	tags []string
	// maps are the ID maps the round writes again, ahead of its barrier
	// and on its connection: bounded as the round is, and on none of
	// ingest's connections, which a hung master would hold.
	maps []idMap
	done chan struct{}
	err  error
	// refused are the shards (by tag) whose barrier or ID map the
	// master refused (MOVED or ASK: resharded; or another error of that
	// write alone), while its WAIT vouched for the others: only the
	// callers of those shards fail, not every caller of the round.
	refused map[string]error
}

// Barrier marks which masters hold the shards of groups now, before the
// writes it is to vouch for, and returns wait, to call after them: it
// returns once every write to those shards before it is acknowledged by
// Options.WaitReplicas replicas of the masters marked, or an error
// matching klaxon.ErrUnavailable when fewer did within
// Options.WaitTimeout, a shard's master is no longer the one marked (a
// failover: the writes may be lost), or Redis failed. The caller then
// answers 503, and the sender's retry writes again what is missing.
// Without WaitReplicas, wait returns nil at once.
func (s *Store) Barrier(ctx context.Context, groups []string) (wait func(context.Context) error) {
	if s.waits == nil {
		return noWait
	}
	var tags []string
	for _, g := range groups {
		if t := s.tag(g); !slices.Contains(tags, t) {
			tags = append(tags, t)
		}
	}
	if !s.cluster() {
		return s.waits.barrier(ctx, tags)
	}
	// On a cluster, the map of the groups' open incidents' IDs to their
	// groups (P:id:<id>, written ahead of the commit that opens one) is
	// on whichever master holds its key: lost there, the incident can
	// no longer be read or acted on by its number, and its ID may be
	// handed out again. The wait covers those masters too, as they were
	// now, before the writes.
	marks, err := s.waits.mark(ctx, tags)
	if err != nil {
		return func(context.Context) error { return err }
	}
	before := s.waits.servers()
	return func(ctx context.Context) error {
		ids, err := s.idMarks(ctx, groups, before)
		if err != nil {
			return err
		}
		if err := s.waits.wait(ctx, append(marks, ids...)); err != nil {
			return err
		}
		s.waits.confirm(ids)
		return nil
	}
}

// idMarks are the marks of the masters that hold the ID maps of the
// open incidents of groups, as seen before their writes (servers), but
// those that a round acknowledged since they were written (confirm);
// their rounds write those maps again, and vouch for them.
// The open incidents are those this store last committed or read: a
// delivery's commits, or the read of its retry that found them made.
func (s *Store) idMarks(ctx context.Context, groups []string, before map[string]mark) ([]mark, error) {
	var marks []mark
	for _, g := range groups {
		_, open, ok := s.cache.Get(g)
		if !ok {
			read, err := s.Group(ctx, g, nil)
			if err != nil {
				return nil, fmt.Errorf("wait for redis replicas: %w", err)
			}
			open = read.Open
		}
		// The open incident's, and those the group's commits wrote
		// that are not confirmed yet: an incident opened and closed
		// before the wait of the delivery that opened it.
		ids := s.waits.unconfirmed(g)
		if open != nil && !slices.Contains(ids, open.ID) && !s.waits.confirmed(open.ID) {
			ids = append(ids, open.ID)
		}
		for _, id := range ids {
			// The map is written again by the round that vouches for
			// it, ahead of its barrier: a failover of its master since
			// the commit that wrote it may have lost it, and the
			// sender's retry, which finds the incident open, commits
			// nothing. It is the same map: an incident's group does not
			// change.
			tag := hashTag(s.idKey(id))
			c, err := s.waits.client(ctx, s.waits.key(tag))
			if err != nil {
				return nil, fmt.Errorf("wait for redis replicas: %w", classify(err))
			}
			m := before[c.Options().Addr] // unknown, and failing, when it was not seen then
			m.tag, m.addr, m.id, m.idMap = tag, c.Options().Addr, id, idMap{key: s.idKey(id), group: g}
			marks = append(marks, m)
		}
	}
	return marks, nil
}

// wrote notes the ID maps (key, group) a commit of group writes, for
// the group's waits to cover until a round confirms them, and returns
// the IDs it added: those the commit is to take back (unwrote) when it
// is refused.
func (r *replication) wrote(group string, maps [][2]string) (added []string) {
	if len(maps) == 0 {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.written) >= confirmedIDs {
		clear(r.written) // bounded: a wait then covers the open incident alone
	}
	for _, kv := range maps {
		id := strings.TrimPrefix(kv[0], r.idPrefix)
		if _, ok := r.ids[id]; !ok && !slices.Contains(r.written[group], id) {
			r.written[group] = append(r.written[group], id)
			added = append(added, id)
		}
	}
	return added
}

// unwrote takes back what wrote added for a commit of group that did
// not land: its incidents never were, and no wait is to vouch for their
// maps (nor depend on their masters).
func (r *replication) unwrote(group string, added []string) {
	if len(added) == 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.written[group] = slices.DeleteFunc(r.written[group], func(id string) bool { return slices.Contains(added, id) })
	if len(r.written[group]) == 0 {
		delete(r.written, group)
	}
}

// unconfirmed are the IDs whose maps group's commits wrote and no round
// has confirmed.
func (r *replication) unconfirmed(group string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.written[group])
}

// hashTag is the hash tag of a key's slot: the key's own, or the key
// whole in braces.
func hashTag(key string) string {
	if i := strings.IndexByte(key, '{'); i >= 0 {
		if j := strings.IndexByte(key[i+1:], '}'); j > 0 {
			return key[i : i+j+2]
		}
	}
	return "{" + key + "}"
}

// WaitsForReplicas reports whether the store was opened with
// Options.WaitReplicas: without, Barrier's wait returns at once.
func (s *Store) WaitsForReplicas() bool { return s.waits != nil }

// ChangesBarrier is Barrier for the change events of integration.
func (s *Store) ChangesBarrier(ctx context.Context, integration string) (wait func(context.Context) error) {
	if s.waits == nil {
		return noWait
	}
	return s.waits.barrier(ctx, []string{s.changesKey(integration)})
}

func noWait(context.Context) error { return nil }

// replicasReady waits for every master: a store whose replicas do not
// acknowledge its writes takes no alert, and is not ready.
func (s *Store) replicasReady(ctx context.Context) error {
	if s.waits == nil {
		return nil
	}
	return s.waits.barrier(ctx, s.tags)(ctx)
}

// barrier marks the masters of tags, and returns the wait for them.
func (r *replication) barrier(ctx context.Context, tags []string) func(context.Context) error {
	marks, err := r.mark(ctx, tags)
	if err != nil {
		return func(context.Context) error { return err }
	}
	return func(ctx context.Context) error { return r.wait(ctx, marks) }
}

// mark notes which master holds the shard of each of tags now.
func (r *replication) mark(ctx context.Context, tags []string) ([]mark, error) {
	marks := make([]mark, 0, len(tags))
	for _, t := range tags {
		c, err := r.client(ctx, r.key(t))
		if err != nil {
			return nil, fmt.Errorf("wait for redis replicas: %w", classify(err))
		}
		m := mark{tag: t, addr: c.Options().Addr}
		r.mu.Lock()
		m.gen, m.known = r.gens[m.addr], r.runs[m.addr] != ""
		r.mu.Unlock()
		marks = append(marks, m)
	}
	return marks, nil
}

// servers are the marks of every master address seen, by address: the
// server each is now, to compare with once a round is back.
func (r *replication) servers() map[string]mark {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]mark, len(r.runs))
	for addr, id := range r.runs {
		out[addr] = mark{addr: addr, gen: r.gens[addr], known: id != ""}
	}
	return out
}

// confirmed reports whether a round acknowledged the ID map of
// incident id after it was written: no wait needs it again.
func (r *replication) confirmed(id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.ids[id]
	return ok
}

// confirm notes the ID maps of marks as acknowledged.
func (r *replication) confirm(marks []mark) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, m := range marks {
		if m.id == "" {
			continue
		}
		if len(r.ids) >= confirmedIDs {
			clear(r.ids) // a miss costs an incident's ID one round
		}
		r.ids[m.id] = struct{}{}
		if g := m.idMap.group; g != "" {
			r.written[g] = slices.DeleteFunc(r.written[g], func(id string) bool { return id == m.id })
			if len(r.written[g]) == 0 {
				delete(r.written, g)
			}
		}
	}
}

// confirmedIDs bounds the incident IDs whose maps a store remembers as
// acknowledged.
const confirmedIDs = 8192

// wait returns once rounds for the shards marked, each sent after the
// call on the master that holds it, are acknowledged, and each master is
// the one marked.
func (r *replication) wait(ctx context.Context, marks []mark) error {
	var rounds []*round
	joined := make([]*round, len(marks))
	for i, m := range marks {
		c, err := r.client(ctx, r.key(m.tag))
		if err != nil {
			return fmt.Errorf("wait for redis replicas: %w", classify(err))
		}
		if addr := c.Options().Addr; addr != m.addr {
			return moved(m.tag, m.addr, addr)
		}
		var maps []idMap
		if m.idMap.key != "" {
			maps = append(maps, m.idMap)
		}
		rd := r.join(m.addr, m.tag, maps...)
		if !slices.Contains(rounds, rd) {
			rounds = append(rounds, rd)
		}
		joined[i] = rd
	}
	for _, rd := range rounds {
		select {
		case <-rd.done:
			if rd.err != nil {
				return rd.err
			}
		case <-ctx.Done():
			return fmt.Errorf("wait for redis replicas: %w", ctx.Err())
		}
	}
	for i, m := range marks {
		if err := joined[i].refused[m.tag]; err != nil {
			return err
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, m := range marks {
		if !m.known || r.gens[m.addr] != m.gen {
			return fmt.Errorf("redis %w: the master changed (a failover) since the writes waited for, which it may lack: the sender's retry writes them again", klaxon.ErrUnavailable)
		}
	}
	return nil
}

// join returns the round of master's barrier that the caller waits for,
// tag among those it vouches for, and maps among the ID maps it writes
// again: the next one, sent once the one out (if any) is answered.
func (r *replication) join(master, tag string, maps ...idMap) *round {
	r.mu.Lock()
	defer r.mu.Unlock()
	b := r.barriers[master]
	if b == nil {
		b = &masterBarrier{}
		r.barriers[master] = b
	}
	if b.next == nil {
		b.next = &round{addr: master, done: make(chan struct{})}
	}
	rd := b.next
	if !slices.Contains(rd.tags, tag) {
		rd.tags = append(rd.tags, tag)
	}
	for _, m := range maps {
		if !slices.Contains(rd.maps, m) {
			rd.maps = append(rd.maps, m)
		}
	}
	if !b.running {
		b.running = true
		r.rounds.Add(1)
		go r.run(b)
	}
	return rd
}

// run sends master's rounds, one after another, until no caller waits.
func (r *replication) run(b *masterBarrier) {
	defer r.rounds.Done()
	for {
		r.mu.Lock()
		rd := b.next
		b.next = nil
		if rd == nil {
			b.running = false
			r.mu.Unlock()
			return
		}
		r.mu.Unlock()
		rd.err = r.send(rd)
		close(rd.done)
	}
}

// sendRound writes rd's barrier and waits for replicas to acknowledge
// it, on one connection (a pipeline) of the master that holds its
// shards, and notes which server that master is. Its time is its own,
// not a caller's: callers that give up leave it to the others.
func (r *replication) sendRound(rd *round) error {
	ctx, cancel := context.WithTimeout(context.Background(), r.timeout+barrierSlack)
	defer cancel()
	key := r.key(rd.tags[0])
	c, err := r.client(ctx, key)
	if err != nil {
		return fmt.Errorf("wait for redis replicas: %w", classify(err))
	}
	if addr := c.Options().Addr; addr != rd.addr {
		// The slot map moved since the callers marked their shards:
		// this master is not the one that took their writes.
		return moved(rd.tags[0], rd.addr, addr)
	}
	// One round trip, on one connection: the barrier, its WAIT, and who
	// the server is. The client reads for as long as the WAIT may take.
	// The barrier is written in each shard of the round, not only the
	// first: on a cluster, a shard whose slot this master no longer
	// serves (resharded, while the barriers' slot map still names it)
	// is refused with MOVED, rather than vouched for here while the
	// store's writes followed MOVED to the master that serves it now.
	// The ID maps it writes again go first, for the barrier to vouch
	// for them.
	maps := make([]*redis.StatusCmd, len(rd.maps))
	sets := make([]*redis.StatusCmd, len(rd.tags))
	var wait *redis.Cmd
	var info *redis.StringCmd
	_, err = c.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, m := range rd.maps {
			maps[i] = p.Set(ctx, m.key, m.group, 0)
		}
		for i, t := range rd.tags {
			sets[i] = p.Set(ctx, r.key(t), "1", probeTTL)
		}
		wait = p.Do(ctx, "wait", r.replicas, r.timeout.Milliseconds())
		info = p.Info(ctx, "server")
		return nil
	})
	// Who the server is, whatever its replicas said: a failover and
	// back between two rounds that succeed is told too.
	id, idErr := parseRunID(info.Val())
	if info.Err() == nil && idErr == nil {
		r.seen(c.Options().Addr, id)
	}
	// A write refused fails the callers of its shard alone: the WAIT
	// that follows vouches for every write the master took before it,
	// the other shards' barriers among them. Refused with MOVED or ASK,
	// the shard is resharded; a map refused so would otherwise fail
	// every delivery to this master for as long as its incident is
	// open and its slot migrating.
	//
	// When the WAIT failed too, the first write refused says why (a
	// master demoted to a replica refuses each with MOVED).
	var first error
	for i, set := range maps {
		tag := hashTag(rd.maps[i].key)
		first = cmp.Or(first, rd.refuse(tag, set.Err(), "write the ID map "+rd.maps[i].key+" again"))
	}
	for i, set := range sets {
		first = cmp.Or(first, rd.refuse(rd.tags[i], set.Err(), "write the barrier of shard "+rd.tags[i]))
	}
	if err != nil && wait.Err() != nil {
		return cmp.Or(first, fmt.Errorf("wait for redis replicas: %w", classify(wait.Err())))
	}
	if n, err := wait.Int64(); err != nil || int(n) < r.replicas {
		return fmt.Errorf("redis %w: %d of the %d replicas asked for acknowledged the write within %s", klaxon.ErrUnavailable, n, r.replicas, r.timeout)
	}
	if idErr != nil {
		return fmt.Errorf("wait for redis replicas: %w", idErr)
	}
	return nil
}

// refuse notes err, if any, as the error of the callers of tag's shard,
// whose write what was, and returns what it noted.
func (rd *round) refuse(tag string, err error, what string) error {
	if err == nil {
		return nil
	}
	if rd.refused[tag] != nil {
		return rd.refused[tag]
	}
	if rd.refused == nil {
		rd.refused = map[string]error{}
	}
	to, ok := redis.IsMovedError(err)
	if !ok {
		to, ok = redis.IsAskError(err)
	}
	if ok {
		rd.refused[tag] = moved(tag, rd.addr, to)
	} else {
		rd.refused[tag] = fmt.Errorf("wait for redis replicas: %s: %w", what, classify(err))
	}
	return rd.refused[tag]
}

// moved is the error of a wait whose shard tag moved from master
// address from to to since its writes: they may be on from only.
func moved(tag, from, to string) error {
	return fmt.Errorf("redis %w: shard %s moved from %s to %s since the writes waited for, which it may lack: the sender's retry writes them again", klaxon.ErrUnavailable, tag, from, to)
}

// seen notes that the server at master address addr is the one whose
// run_id is id: when another was seen there before, the address's
// generation goes up, and the waits of writes marked before fail.
func (r *replication) seen(addr, id string) {
	r.mu.Lock()
	was := r.runs[addr]
	r.runs[addr] = id
	moved := was != "" && was != id
	if moved {
		r.gens[addr]++
	}
	r.mu.Unlock()
	if moved && r.changed != nil {
		r.changed()
	}
}

// runID is the run_id of the server c talks to.
func runID(ctx context.Context, c redis.Cmdable) (string, error) {
	info, err := c.Info(ctx, "server").Result()
	if err != nil {
		return "", err
	}
	return parseRunID(info)
}

// parseRunID is the run_id that INFO server says.
func parseRunID(info string) (string, error) {
	for line := range strings.Lines(info) {
		if id, ok := strings.CutPrefix(strings.TrimSpace(line), "run_id:"); ok && id != "" {
			return id, nil
		}
	}
	return "", errors.New("INFO server names no run_id")
}

// learn notes which server each master of the shards of tags is, before
// any write: a failover from then on is told.
func (r *replication) learn(ctx context.Context, tags []string) error {
	for _, t := range tags {
		c, err := r.client(ctx, r.key(t))
		if err != nil {
			return err
		}
		addr := c.Options().Addr
		r.mu.Lock()
		known := r.runs[addr] != ""
		r.mu.Unlock()
		if known {
			continue
		}
		id, err := runID(ctx, c)
		if err != nil {
			return err
		}
		r.seen(addr, id)
	}
	return nil
}

// openWaits sets up Replicated's barriers, with a client of their own
// made from uo, and learns which master holds each shard.
func (s *Store) openWaits(ctx context.Context, uo redis.UniversalOptions, o Options) error {
	timeout := cmp.Or(o.WaitTimeout, DefaultWaitTimeout)
	uo.PoolSize, uo.MaxRetries = barrierPool, -1 // a round that fails is the sender's to retry
	uo.ContextTimeoutEnabled = true              // a hung master holds a round no longer than its wait
	uo.ReadTimeout = timeout + barrierSlack
	s.barriers = newClient(&uo)
	s.waits = &replication{replicas: o.WaitReplicas, timeout: timeout, client: masterOf(s.barriers),
		key:      func(tag string) string { return waitKey(tag, s.replica) },
		barriers: map[string]*masterBarrier{}, runs: map[string]string{}, gens: map[string]uint64{},
		ids: map[string]struct{}{}, written: map[string][]string{}, idPrefix: s.idKey(""), changed: s.cache.Clear}
	s.waits.send = s.waits.sendRound
	if err := s.waits.learn(ctx, s.tags); err != nil {
		if err := classify(err); errors.Is(err, klaxon.ErrUnavailable) {
			return fmt.Errorf("wait for replicas: %w", err)
		}
		return klaxon.Invalid("wait_replicas", "Redis must answer INFO server with its run_id, to tell a failover: %v", err)
	}
	return nil
}

// DefaultWaitTimeout is how long Replicated waits for replicas when
// Options.WaitTimeout is not set.
const DefaultWaitTimeout = time.Second

// barrierSlack is how long past its WAIT's timeout a barrier may take
// to be written and answered.
const barrierSlack = time.Second

// barrierPool bounds the connections of barriers to each master: one
// round is out at a time per master, and its connection is held for
// its WAIT.
const barrierPool = 4

// masterOf returns a function that finds the client of the master that
// holds a key: rdb itself, unless it is a cluster's.
func masterOf(rdb redis.UniversalClient) func(context.Context, string) (*redis.Client, error) {
	switch c := rdb.(type) {
	case *redis.ClusterClient:
		return c.MasterForKey
	case *redis.Client:
		return func(context.Context, string) (*redis.Client, error) { return c, nil }
	}
	return func(context.Context, string) (*redis.Client, error) {
		return nil, fmt.Errorf("wait for replicas: a %T cannot", rdb)
	}
}

// close waits for the rounds out.
func (r *replication) close() { r.rounds.Wait() }
