// Package redis is Klaxon's scale-out store: any number of klaxon serve
// replicas share one Redis, a single server, a Sentinel-managed primary or
// a Redis Cluster, through go-redis's UniversalClient.
//
// The state machine stays in Go. Redis keeps groups, incidents, the alert
// index and timers, and a commit is one Lua script that checks the version
// the committer read and writes the group's new state together. Groups are
// spread over Options.Shards shards; a shard is a hash tag, so the keys of
// one group, and so of one commit, share one slot of a cluster, while the
// shards spread the load over the cluster's nodes. See keys.go for the key
// layout.
//
// Redis is as durable as its persistence: run it with appendonly yes (or
// at least RDB snapshots) and check with Store.Persistence.
package redis

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/store/internal/groupcache"
	"github.com/redis/go-redis/extra/redisotel/v9"
	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/trace"
)

// Defaults of Options.
const (
	DefaultPrefix = "klaxon"
	DefaultShards = 256
	maxShards     = 16384 // as many as a cluster has slots
)

// Options say which Redis to use and how Klaxon lays out its keys there.
type Options struct {
	// Addrs: one address for a single server (or the Sentinels' addresses
	// with MasterName); several for a Redis Cluster.
	Addrs []string
	// MasterName is the Sentinel master; set, Addrs are Sentinels.
	MasterName string
	// Username and Password authenticate to Redis (the master, under
	// Sentinel); SentinelUsername and SentinelPassword to the Sentinels,
	// when they ask for one of their own (requirepass in sentinel.conf).
	Username, Password                 string
	SentinelUsername, SentinelPassword string
	// DB selects a database; only a single server or Sentinel has others
	// than 0.
	DB  int
	TLS *tls.Config
	// Prefix starts every key (default "klaxon"), so that several Klaxons
	// can share one Redis. It may not hold '{' or '}'.
	Prefix string
	// Shards is how many hash tags the groups are spread over (default
	// 256). It is fixed when a Prefix is first used: Open refuses another.
	Shards int
	// Timeout bounds how long a command, or a pipeline, waits to
	// connect, to be sent, and for its answer; go-redis then tries it
	// again, up to three times more. 0: go-redis's defaults (5s to
	// connect, 3s to send or read). The wait for a free connection stays
	// 4s at least.
	Timeout time.Duration
	// WaitReplicas, when above 0, makes Replicated wait for that many
	// replicas to acknowledge the writes before it, for WaitTimeout
	// (default 1s) at most.
	WaitReplicas int
	WaitTimeout  time.Duration
	// Tracing makes a span of each command and pipeline (redisotel), in
	// the trace of the caller's context; nil for none. Commands of no
	// traced caller are best left out: see telemetry.ChildOnly.
	Tracing trace.TracerProvider
}

// Store is a klaxon.Store in Redis. It is safe for concurrent use, also
// by several processes on the same Redis and Prefix.
type Store struct {
	rdb redis.UniversalClient
	// urgent is a pool of its own for the escalation engine's commits.
	urgent redis.UniversalClient
	// view: this is Urgent's view of another Store, which owns the
	// connections.
	view   bool
	prefix string
	tags   []string // tags[n] is shard n's hash tag
	cache  *groupcache.Cache
	// commits sends the commits of ingest (not urgent ones) that wait
	// together in one pipeline; nil in a view, whose commits go alone.
	commits *batcher
	// replica names this process's readiness probe key.
	replica string
	// waits are the barriers of Replicated, and barriers their client;
	// nil without WaitReplicas.
	waits    *replication
	barriers redis.UniversalClient
	// drainLater, set by tests, leaves the unindexing that a commit owes
	// to Unindex, as a process stopped just after the commit would.
	drainLater bool
}

// urgentPool is the size of the connection pool of urgent commits.
const urgentPool = 16

// cachedGroups bounds the decoded open incidents a store keeps.
const cachedGroups = 8192

var (
	_ klaxon.Store         = (*Store)(nil)
	_ klaxon.GroupCache    = (*Store)(nil)
	_ klaxon.GroupClaimer  = (*Store)(nil)
	_ klaxon.ReplicaWaiter = (*Store)(nil)
)

// Open connects to Redis, checks that it answers and that Prefix was not
// laid out with another shard count, and returns the store. An unreachable
// Redis gives an error matching klaxon.ErrUnavailable; so do Sentinels of
// which one cannot be reached and none gives the master's address. Ones
// that all answer and none with it (a master name they do not know) give
// another error: see askSentinels.
func Open(ctx context.Context, o Options) (*Store, error) {
	if err := o.complete(); err != nil {
		return nil, fmt.Errorf("open redis store: %w", err)
	}
	if o.MasterName != "" {
		if err := askSentinels(ctx, o); err != nil {
			return nil, fmt.Errorf("open redis store: %w", err)
		}
	}
	uo := &redis.UniversalOptions{
		Addrs:      o.Addrs,
		MasterName: o.MasterName,
		Username:   o.Username,
		Password:   o.Password,
		// go-redis's Sentinel clients take these, its master's the others.
		SentinelUsername: o.SentinelUsername,
		SentinelPassword: o.SentinelPassword,
		DB:               o.DB,
		TLSConfig:        o.TLS,
	}
	if o.Timeout > 0 {
		uo.DialTimeout, uo.ReadTimeout, uo.WriteTimeout = o.Timeout, o.Timeout, o.Timeout
		// go-redis waits for a free connection ReadTimeout + 1s: a
		// storm that holds them all waits as long as by default.
		uo.PoolTimeout = max(o.Timeout+time.Second, 4*time.Second)
	}
	rdb := newClient(uo)
	if o.MasterName == "" && len(o.Addrs) == 1 {
		cluster, err := isCluster(ctx, rdb)
		if err != nil {
			_ = rdb.Close()
			return nil, fmt.Errorf("open redis store %s: %w", o.Addrs[0], err)
		}
		if cluster {
			// One address of a cluster node: a seed, as for several.
			_ = rdb.Close()
			if o.DB != 0 {
				return nil, fmt.Errorf("open redis store %s: %w", o.Addrs[0], klaxon.Invalid("db", "a cluster has database 0 only"))
			}
			uo.IsClusterMode = true
			rdb = newClient(uo)
		}
	}
	urgent := *uo
	urgent.PoolSize = urgentPool
	urgentRdb := newClient(&urgent)
	if o.Tracing != nil {
		for _, c := range []redis.UniversalClient{rdb, urgentRdb} {
			if err := redisotel.InstrumentTracing(c, redisotel.WithTracerProvider(o.Tracing), redisotel.WithDBStatement(false), redisotel.WithCallerEnabled(false)); err != nil {
				_ = rdb.Close()
				_ = urgentRdb.Close()
				return nil, fmt.Errorf("open redis store: trace commands: %w", err)
			}
		}
	}
	s := &Store{rdb: rdb, urgent: urgentRdb, prefix: o.Prefix, tags: make([]string, o.Shards), cache: groupcache.New(cachedGroups, true),
		replica: rand.Text()}
	s.commits = &batcher{send: func(ctx context.Context, calls []call) []*redis.Cmd { return evalEach(ctx, rdb, commitScript, calls) }}
	for n := range s.tags {
		s.tags[n] = "{" + o.Prefix + ":s" + strconv.Itoa(n) + "}"
	}
	if o.WaitReplicas > 0 {
		if err := s.openWaits(ctx, *uo, o); err != nil {
			_ = s.Close()
			return nil, fmt.Errorf("open redis store %s: %w", strings.Join(o.Addrs, ","), err)
		}
	}
	if err := s.checkShards(ctx, o.Shards); err != nil {
		_ = s.Close()
		return nil, fmt.Errorf("open redis store %s: %w", strings.Join(o.Addrs, ","), err)
	}
	if err := s.upgrade(ctx); err != nil {
		_ = s.Close()
		return nil, fmt.Errorf("open redis store %s: %w", strings.Join(o.Addrs, ","), err)
	}
	return s, nil
}

// clusterReload is how often a cluster client reads the cluster's slot
// map again while it is used. go-redis reads it again at once on a
// redirect (MOVED, ASK), but not when a master it sends to is gone: after
// a failover it would dial the dead master for up to its default minute,
// and a third of the groups (that master's share) could neither take
// alerts nor page.
const clusterReload = 2 * time.Second

// newClient is redis.NewUniversalClient, with a cluster's slot map read
// again every clusterReload.
func newClient(uo *redis.UniversalOptions) redis.UniversalClient {
	if uo.MasterName == "" && (len(uo.Addrs) > 1 || uo.IsClusterMode) {
		co := uo.Cluster()
		co.ClusterStateReloadInterval = clusterReload
		return redis.NewClusterClient(co)
	}
	return redis.NewUniversalClient(uo)
}

// Urgent returns the store as the escalation engine uses it: every call
// goes through the connections of urgent commits, so that the engine's
// reads and claims never wait for a connection behind ingest's. It shares
// this store's connections and cache; closing it closes nothing.
func (s *Store) Urgent() klaxon.Store {
	u := *s
	u.rdb = s.urgent
	u.view = true
	u.commits = nil
	return &u
}

// cluster reports whether the store is on a Redis Cluster, whose nodes
// hold the keys of a group's shard apart from the others.
func (s *Store) cluster() bool {
	_, ok := s.rdb.(*redis.ClusterClient)
	return ok
}

// isCluster reports whether the server is a node of a cluster. It fails
// only when the server is unavailable: a server that hides INFO is taken
// for a single one.
func isCluster(ctx context.Context, rdb redis.UniversalClient) (bool, error) {
	info, err := rdb.Info(ctx, "cluster").Result()
	if err != nil {
		if err := classify(err); errors.Is(err, klaxon.ErrUnavailable) || ctx.Err() != nil {
			return false, err
		}
		return false, nil
	}
	return strings.Contains(info, "cluster_enabled:1"), nil
}

// complete fills in defaults and rejects what cannot work.
func (o *Options) complete() error {
	if o.Prefix == "" {
		o.Prefix = DefaultPrefix
	}
	if o.Shards == 0 {
		o.Shards = DefaultShards
	}
	switch {
	case len(o.Addrs) == 0:
		return klaxon.Invalid("addrs", "no address")
	case strings.ContainsAny(o.Prefix, "{}"):
		return klaxon.Invalid("prefix", "%q holds a brace, which would change the hash tags", o.Prefix)
	case o.Shards < 1 || o.Shards > maxShards:
		return klaxon.Invalid("shards", "%d: want 1 to %d", o.Shards, maxShards)
	case o.DB != 0 && o.MasterName == "" && len(o.Addrs) > 1:
		return klaxon.Invalid("db", "a cluster has database 0 only")
	}
	return nil
}

// checkShards records the shard count of the prefix when it is new and
// refuses another one: groups would be looked for in the wrong shards.
func (s *Store) checkShards(ctx context.Context, shards int) error {
	key := s.prefix + ":shards"
	set, err := s.rdb.SetNX(ctx, key, shards, 0).Result()
	if err != nil {
		return classify(err)
	}
	if set {
		return nil
	}
	stored, err := s.rdb.Get(ctx, key).Result()
	if err != nil {
		return classify(err)
	}
	if stored != strconv.Itoa(shards) {
		return klaxon.Invalid("shards", "prefix %s is laid out in %s shards, not %d", s.prefix, stored, shards)
	}
	return nil
}

// Ping reports whether Redis answers and takes writes: on the server, or
// on every master of a cluster, it sets a short-lived key of this replica
// (one per shard on a cluster, so that every master holding a shard is
// tried). A Redis that answers but cannot write (MISCONF, OOM, READONLY
// after a failover, NOREPLICAS) is unavailable, as when it is down.
func (s *Store) Ping(ctx context.Context) error {
	err := s.forEachMaster(ctx, func(ctx context.Context, c redis.Cmdable) error {
		return c.Ping(ctx).Err()
	})
	if err == nil {
		err = s.probeWrite(ctx)
	}
	if err == nil {
		err = s.replicasReady(ctx)
	}
	if err != nil {
		return fmt.Errorf("ping redis: %w", classify(err))
	}
	return nil
}

// probeTTL is how long a readiness probe's key lives.
const probeTTL = time.Minute

// probeWrite sets this replica's probe key: in the first shard on a
// single server, in every shard on a cluster.
func (s *Store) probeWrite(ctx context.Context) error {
	tags := s.tags[:1]
	if s.cluster() {
		tags = s.tags
	}
	cmds, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, tag := range tags {
			p.Set(ctx, probeKey(tag, s.replica), "1", probeTTL)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, c := range cmds {
		if err := c.Err(); err != nil {
			return err
		}
	}
	return nil
}

// forEachMaster runs fn on every master of a cluster, concurrently, or on
// the client.
func (s *Store) forEachMaster(ctx context.Context, fn func(context.Context, redis.Cmdable) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if c, ok := s.rdb.(*redis.ClusterClient); ok {
		return c.ForEachMaster(ctx, func(ctx context.Context, m *redis.Client) error { return fn(ctx, m) })
	}
	return fn(ctx, s.rdb)
}

// Persistence reports whether Redis writes an append-only file and
// whether it takes RDB snapshots; on a cluster, whether every master
// does. Without CONFIG (managed services rename it) it falls back to INFO
// persistence, where rdb means that a snapshot was taken since start.
func (s *Store) Persistence(ctx context.Context) (aof, rdb bool, err error) {
	var mu sync.Mutex // a cluster's masters answer concurrently
	aof, rdb = true, true
	err = s.forEachMaster(ctx, func(ctx context.Context, c redis.Cmdable) error {
		a, r, err := persistence(ctx, c)
		if err != nil {
			return err
		}
		mu.Lock()
		aof, rdb = aof && a, rdb && r
		mu.Unlock()
		return nil
	})
	if err != nil {
		return false, false, fmt.Errorf("read redis persistence: %w", classify(err))
	}
	return aof, rdb, nil
}

// persistence reads one server's persistence settings.
func persistence(ctx context.Context, c redis.Cmdable) (aof, rdb bool, err error) {
	cfg, err := c.ConfigGet(ctx, "appendonly").Result()
	if err == nil {
		var save map[string]string
		if save, err = c.ConfigGet(ctx, "save").Result(); err == nil {
			return cfg["appendonly"] == "yes", strings.TrimSpace(save["save"]) != "", nil
		}
	}
	if unavailable(err) {
		return false, false, err
	}
	info, err := c.Info(ctx, "persistence").Result()
	if err != nil {
		return false, false, err
	}
	fields := map[string]string{}
	for line := range strings.Lines(info) {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), ":"); ok {
			fields[k] = v
		}
	}
	saves, _ := strconv.Atoi(fields["rdb_saves"])
	return fields["aof_enabled"] == "1", saves > 0, nil
}

// NextIncidentID allocates the next decimal ID from one counter: "1",
// "2", … An ID is never handed out twice, as long as Redis keeps its data.
//
// On a cluster, the counter lives on one master and the incidents on
// all: a failover of the counter's master to a replica that missed its
// last increments (Redis replicates them a moment later) takes the
// counter back, and not the incidents opened meanwhile. So each ID is
// reserved there too, where its incident's commit maps it to its group
// (P:id:<id>), and one reserved or mapped already is passed over.
func (s *Store) NextIncidentID(ctx context.Context) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", fmt.Errorf("allocate incident id: %w", err)
	}
	for range maxPassedOver {
		n, err := s.rdb.Incr(ctx, s.seqKey()).Result()
		if err != nil {
			return "", fmt.Errorf("allocate incident id: %w", classify(err))
		}
		id := strconv.FormatInt(n, 10)
		if !s.cluster() {
			return id, nil
		}
		// A reservation its commit does not replace (an ingest that
		// failed after it) goes in a day.
		fresh, err := s.rdb.SetNX(ctx, s.idKey(id), "", 24*time.Hour).Result()
		if err != nil {
			return "", fmt.Errorf("allocate incident id %s: %w", id, classify(err))
		}
		if fresh {
			return id, nil
		}
	}
	return "", fmt.Errorf("allocate incident id: %d in a row were taken already: %w", maxPassedOver, klaxon.ErrUnavailable)
}

// maxPassedOver bounds the IDs taken already that NextIncidentID passes
// over in one call: after a failover, those handed out in the moment the
// new master had not yet received.
const maxPassedOver = 10000

// Close closes the connections. Calls after Close fail; so does a second
// Close.
func (s *Store) Close() error {
	if s.view {
		return nil
	}
	var barriers error
	if s.waits != nil {
		s.waits.close()
		barriers = s.barriers.Close()
	}
	if err := errors.Join(s.rdb.Close(), s.urgent.Close(), barriers); err != nil {
		return fmt.Errorf("close redis store: %w", err)
	}
	return nil
}
