package redis

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/klaxonhq/klaxon"
)

// Redis replicates asynchronously: a commit it answered may be on no
// replica yet when its master's host is lost, and a Sentinel failover
// then promotes a replica without it. Replicated makes ingest's answer
// wait for replicas (Options.WaitReplicas): a barrier, a write of this
// process's key in a shard, is sent after the commits it vouches for and
// followed by WAIT on the same connection. Redis replicates a master's
// writes in the order it took them, so a replica that acknowledged the
// barrier holds every write the master took before it, whichever
// connection sent them: the commits of the delivery, and the state that
// a retry of it found already committed and wrote nothing to.
//
// Callers that arrive while a shard's barrier is out wait for the next,
// which follows their commits: one barrier and one WAIT serve every
// delivery that came meanwhile, as one fsync serves a batch of commits.

// replication is the barriers of a store's shards.
type replication struct {
	replicas int
	timeout  time.Duration
	// key is the barrier key of a shard's tag; client the client of
	// the master that holds it.
	key    func(tag string) string
	client func(ctx context.Context, key string) (*redis.Client, error)
	// send sends a round of a shard's barrier: r.barrier, but in tests.
	send func(tag string) error

	mu       sync.Mutex
	barriers map[string]*shardBarrier // by shard tag
	rounds   sync.WaitGroup           // barriers out, which Close waits for
}

// shardBarrier is a shard's: whether a round is out, and the next one,
// which callers join while the one out runs.
type shardBarrier struct {
	running bool
	next    *round
}

// round is one barrier and its WAIT; done closes once err is set.
type round struct {
	done chan struct{}
	err  error
}

// Replicated returns once every write the store's Redis took before the
// call to the shards of groups is acknowledged by Options.WaitReplicas
// replicas, or an error matching klaxon.ErrUnavailable when fewer did
// within Options.WaitTimeout (or Redis failed): the caller answers 503,
// and the sender's retry waits again. Without WaitReplicas it returns
// nil at once.
func (s *Store) Replicated(ctx context.Context, groups []string) error {
	if s.waits == nil {
		return nil
	}
	tags := s.tags[:1] // one master holds every shard
	if s.cluster() {
		tags = nil
		for _, g := range groups {
			if t := s.tag(g); !slices.Contains(tags, t) {
				tags = append(tags, t)
			}
		}
	}
	return s.waits.wait(ctx, tags)
}

// wait returns once the barriers of tags, sent after the call, are
// acknowledged.
func (r *replication) wait(ctx context.Context, tags []string) error {
	rounds := make([]*round, len(tags))
	for i, t := range tags {
		rounds[i] = r.join(t)
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
	return nil
}

// replicasReady is Replicated for every master: a store whose replicas
// do not acknowledge its writes takes no alert, and is not ready.
func (s *Store) replicasReady(ctx context.Context) error {
	if s.waits == nil {
		return nil
	}
	tags := s.tags[:1]
	if c, ok := s.rdb.(*redis.ClusterClient); ok {
		// A shard of each master.
		tags = nil
		seen := map[string]bool{}
		for _, t := range s.tags {
			m, err := c.MasterForKey(ctx, s.waits.key(t))
			if err != nil {
				return err
			}
			if addr := m.Options().Addr; !seen[addr] {
				seen[addr] = true
				tags = append(tags, t)
			}
		}
	}
	return s.waits.wait(ctx, tags)
}

// join returns the round of tag's barrier that the caller waits for:
// the next one, sent once the one out (if any) is answered.
func (r *replication) join(tag string) *round {
	r.mu.Lock()
	defer r.mu.Unlock()
	b := r.barriers[tag]
	if b == nil {
		b = &shardBarrier{}
		r.barriers[tag] = b
	}
	if b.next == nil {
		b.next = &round{done: make(chan struct{})}
	}
	rd := b.next
	if !b.running {
		b.running = true
		r.rounds.Add(1)
		go r.run(tag, b)
	}
	return rd
}

// run sends tag's barriers, one round after another, until no caller
// waits.
func (r *replication) run(tag string, b *shardBarrier) {
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
		rd.err = r.send(tag)
		close(rd.done)
	}
}

// barrier writes tag's barrier and waits for replicas to acknowledge it,
// on one connection of the master that holds tag. Its time is its own,
// not a caller's: callers that give up leave it to the others.
func (r *replication) barrier(tag string) error {
	ctx, cancel := context.WithTimeout(context.Background(), r.timeout+barrierSlack)
	defer cancel()
	key := r.key(tag)
	c, err := r.client(ctx, key)
	if err != nil {
		return fmt.Errorf("wait for redis replicas: %w", classify(err))
	}
	conn := c.Conn()
	defer conn.Close()
	if err := conn.Set(ctx, key, "1", probeTTL).Err(); err != nil {
		return fmt.Errorf("wait for redis replicas: write the barrier: %w", classify(err))
	}
	n, err := conn.Wait(ctx, r.replicas, r.timeout).Result()
	if err != nil {
		return fmt.Errorf("wait for redis replicas: %w", classify(err))
	}
	if int(n) < r.replicas {
		return fmt.Errorf("redis %w: %d of the %d replicas asked for acknowledged the write within %s", klaxon.ErrUnavailable, n, r.replicas, r.timeout)
	}
	return nil
}

// DefaultWaitTimeout is how long Replicated waits for replicas when
// Options.WaitTimeout is not set.
const DefaultWaitTimeout = time.Second

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

// barrierSlack is how long past its WAIT's timeout a barrier may take
// to be written and answered.
const barrierSlack = 5 * time.Second

// close waits for the barriers out.
func (r *replication) close() { r.rounds.Wait() }
