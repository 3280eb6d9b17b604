package config

import (
	"fmt"
	"net"
	"time"
)

// Store says where Klaxon keeps its state: the embedded store at Path, or
// Redis when Redis is set.
type Store struct {
	// Path is the embedded store's file, made absolute against the config
	// file's folder; default data/klaxon.db. Load does not create it.
	Path  string `koanf:"path"`
	Redis *Redis `koanf:"redis"`
}

// Redis configures the Redis store: one address for a single server,
// several for Cluster, or Sentinel addresses with MasterName.
type Redis struct {
	Addrs      []string `koanf:"addrs"`
	MasterName string   `koanf:"master_name"`
	Username   string   `koanf:"username"`
	Password   string   `koanf:"password"`
	// SentinelUsername and SentinelPassword authenticate to the
	// Sentinels (MasterName set) when they ask for a password of their
	// own; Username and Password are the master's.
	SentinelUsername string `koanf:"sentinel_username"`
	SentinelPassword string `koanf:"sentinel_password"`
	// WaitReplicas, when above 0, makes ingest answer a delivery only
	// once that many replicas acknowledged its commits (Redis WAIT),
	// within WaitTimeout (default 1s), else 503.
	WaitReplicas int          `koanf:"wait_replicas"`
	WaitTimeout  durationText `koanf:"wait_timeout"`
	DB           int          `koanf:"db"`
	TLS          bool         `koanf:"tls"`
	// Timeout is how long a command, or a pipeline of them, waits to
	// connect, to be sent, and for its answer, before it is tried again
	// (go-redis tries three times more); unset, go-redis's 3s. Redis
	// answers one command at a time, and a busy one (a fork for its
	// snapshot, a long script) answers late: hence 250ms at least.
	Timeout durationText `koanf:"timeout"`
}

// WaitTimeoutOr is how long ingest waits for replicas, or def when unset.
func (r *Redis) WaitTimeoutOr(def time.Duration) time.Duration { return r.WaitTimeout.or(def) }

// TimeoutOr is the Redis timeout, or def when unset.
func (r *Redis) TimeoutOr(def time.Duration) time.Duration { return r.Timeout.or(def) }

// checkStore defaults and checks store.
func (l *loader) checkStore(s *Store) {
	if s.Path == "" {
		s.Path = DefaultStorePath
	}
	s.Path = l.abs(s.Path)
	if s.Redis == nil {
		return
	}
	if len(s.Redis.Addrs) == 0 {
		l.probs.add(l.path, "store.redis.addrs", "required: at least one host:port")
	}
	for i, a := range s.Redis.Addrs {
		if _, _, err := net.SplitHostPort(a); err != nil {
			l.probs.add(l.path, fmt.Sprintf("store.redis.addrs[%d]", i), "bad address %q: want host:port", a)
		}
	}
	if s.Redis.DB < 0 {
		l.probs.add(l.path, "store.redis.db", "must be 0 or more")
	}
	if s.Redis.MasterName == "" {
		for _, f := range []struct{ key, v string }{{"sentinel_username", s.Redis.SentinelUsername}, {"sentinel_password", s.Redis.SentinelPassword}} {
			if f.v != "" {
				l.probs.add(l.path, "store.redis."+f.key, "only with master_name: the addresses are Sentinels' then")
			}
		}
	}
	switch {
	case s.Redis.WaitReplicas < 0:
		l.probs.add(l.path, "store.redis.wait_replicas", "must be 0 or more")
	case s.Redis.WaitTimeout != "" && s.Redis.WaitReplicas == 0:
		l.probs.add(l.path, "store.redis.wait_timeout", "only with wait_replicas")
	case s.Redis.WaitTimeout != "":
		if d, err := ParseDuration(string(s.Redis.WaitTimeout)); err != nil {
			l.probs.add(l.path, "store.redis.wait_timeout", "%v", err)
		} else if d < 10*time.Millisecond || d > time.Minute {
			l.probs.add(l.path, "store.redis.wait_timeout", "must be from 10ms to 1m, got %s", s.Redis.WaitTimeout)
		}
	}
	if s.Redis.Timeout != "" {
		if d, err := ParseDuration(string(s.Redis.Timeout)); err != nil {
			l.probs.add(l.path, "store.redis.timeout", "%v", err)
		} else if d < 250*time.Millisecond || d > time.Minute {
			l.probs.add(l.path, "store.redis.timeout", "must be from 250ms to 1m, got %s", s.Redis.Timeout)
		}
	}
}
