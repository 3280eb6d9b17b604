// Package groupcache keeps what a store last read or committed of the
// groups it serves: the group's version and token, its open incident
// decoded, and what that incident keeps of the alerts seen lately. A store
// then need not decode again an incident that did not change, and a
// store with round trips can answer a group that takes a storm of
// deliveries from one replica without reading it at all: the commit's
// compare-and-set on version and token refuses whatever was computed
// from a stale entry.
package groupcache

import (
	"sync"

	"github.com/klaxonhq/klaxon"
)

// MaxAlerts bounds the alerts held for one group. An incident that grows
// past it keeps its header in the cache, and its alerts are read.
const MaxAlerts = 50_000

// MaxHeld bounds the alerts the cache takes in across all its groups
// before it starts again empty, as it does at its bound of groups: about
// 200 bytes each, so that a storm into many large incidents holds tens of
// megabytes, not the product of both bounds.
const MaxHeld = 200_000

// Cache is safe for concurrent use. The incidents it holds are shared:
// callers must not change them (klaxon.Store.Group says so).
type Cache struct {
	mu     sync.Mutex
	max    int
	alerts bool
	m      map[string]*entry
	// taken counts the alerts added since the cache was last emptied;
	// alerts dropped with their entry are not taken off, so it is at
	// least what the cache holds. maxHeld bounds it (MaxHeld).
	taken, maxHeld int
}

type entry struct {
	version uint64
	token   string
	open    *klaxon.Incident
	// alerts are alerts of open, each with what open keeps of it as of
	// epoch: the value is the group's when its epoch is the entry's. A
	// state the cache did not follow (another replica's commit) takes a
	// new epoch: the alerts stay open's, their values are read again.
	// When alerts holds as many as open counts, it holds them all, and an
	// alert absent is none of open's.
	alerts map[string]held
	epoch  uint64
	// stale marks an entry whose state a commit found gone.
	stale bool
}

type held struct {
	seen  klaxon.Seen
	epoch uint64
}

// complete says e holds every alert of its open incident: alerts never
// leave an incident, and a commit writes an incident's count with its
// alerts.
func (e *entry) complete() bool { return e.open == nil || len(e.alerts) == e.open.AlertCount }

// add holds seen as current.
func (e *entry) add(seen map[string]klaxon.Seen) {
	if e.alerts == nil {
		e.alerts = make(map[string]held, len(seen))
	}
	for k, s := range seen {
		e.alerts[k] = held{s, e.epoch}
	}
}

// New returns a cache of at most max groups that holds their headers;
// with alerts, it holds what their open incidents keep of their alerts
// too, for Group.
func New(max int, alerts bool) *Cache {
	return &Cache{max: max, alerts: alerts, m: make(map[string]*entry), maxHeld: MaxHeld}
}

// Header returns the header of group key's open incident as the cache
// holds it in the state at version whose last commit token is token:
// what the store holds in that state. Nil when the cache holds the
// group in another state, or with no open incident. A store skips
// writing a header that is the same as this one: so the cache must only
// ever hold states the store made durable (Committed once a commit
// landed, PutAt and Read of what a read found stored), never one a
// commit on its way may still not make.
func (c *Cache) Header(key string, version uint64, token string) *klaxon.Incident {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[key]
	if !ok || e.stale || e.version != version || e.token != token {
		return nil
	}
	return e.open
}

// Get returns the version and open incident held for group key.
func (c *Cache) Get(key string) (version uint64, open *klaxon.Incident, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[key]
	if !ok || e.stale {
		return 0, nil, false
	}
	return e.version, e.open, true
}

// PutAt holds open, read at version, as group key's open incident,
// unless the cache holds the group at another version: a later commit
// handed to it since the read. When the cache is full it starts again
// empty: simple, and a miss only costs a read.
func (c *Cache) PutAt(key string, version uint64, open *klaxon.Incident) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[key]; ok && e.version != version {
		return
	}
	c.read(klaxon.Group{Key: key, Version: version, Open: open})
}

// Read holds what a read of g found: its header, and what its open
// incident keeps of the alerts g holds. A read of the state the cache
// holds adds to what it holds; a read of another state of the same open
// incident keeps which alerts are that incident's, and only the values
// read are current.
func (c *Cache) Read(g klaxon.Group) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.read(g)
}

// read is Read with mu held.
func (c *Cache) read(g klaxon.Group) {
	e, ok := c.m[g.Key]
	switch {
	case ok && !e.stale && e.version == g.Version && e.token == g.Token && sameIncident(e.open, g.Open):
	case ok && e.open != nil && g.Open != nil && e.open.ID == g.Open.ID:
		e.version, e.token, e.stale = g.Version, g.Token, false
		e.epoch++
	default:
		e = &entry{version: g.Version, token: g.Token}
		c.put(g.Key, e)
	}
	e.open = g.Open
	if g.Open == nil {
		e.alerts = nil
		return
	}
	if c.alerts && len(e.alerts)+len(g.Alerts) <= MaxAlerts {
		before := len(e.alerts)
		e.add(g.Alerts)
		c.took(len(e.alerts) - before)
	}
}

// Group answers a read of group key and alerts from what the cache holds:
// false unless it holds the group and, for each alert, what the open
// incident keeps of it now, or that it keeps nothing. The map is the
// caller's.
func (c *Cache) Group(key string, alerts []string) (klaxon.Group, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[key]
	if !ok || e.stale || !c.alerts {
		return klaxon.Group{}, false
	}
	g := klaxon.Group{Key: key, Version: e.version, Open: e.open, Token: e.token}
	if e.open == nil {
		return g, true
	}
	complete := e.complete()
	for _, k := range alerts {
		h, ok := e.alerts[k]
		switch {
		case ok && h.epoch == e.epoch:
			if g.Alerts == nil {
				g.Alerts = make(map[string]klaxon.Seen, len(alerts))
			}
			g.Alerts[k] = h.seen
		case ok || !complete:
			return klaxon.Group{}, false
		}
	}
	return g, true
}

// Committed holds what commit cm, which landed with token, made of its
// group: the header of its open incident at the version after cm and,
// when the cache held the state cm was computed from, what that incident
// keeps of its alerts.
func (c *Cache) Committed(cm klaxon.Commit, token string) {
	var open *klaxon.Incident
	for _, inc := range cm.Incidents {
		if inc.ID == cm.Open {
			open = inc
			break
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	prior, ok := c.m[cm.Group]
	based := ok && !prior.stale && prior.version == cm.Version && prior.token == cm.Token
	next := &entry{version: cm.Version + 1, token: token}
	switch {
	case cm.Open == "":
	case open == nil:
		// The open incident is not in the commit: unchanged, if known.
		if !based || prior.open == nil || prior.open.ID != cm.Open {
			delete(c.m, cm.Group)
			return
		}
		next.open, next.alerts, next.epoch = prior.open, prior.alerts, prior.epoch
	default:
		if based && prior.open != nil && open.SameHeader(prior.open) {
			// The header held stays, shared as it is never changed: no
			// copy of it for each new occurrence of an alert the
			// incident holds, in a storm.
			next.open = prior.open
		} else {
			next.open = open.Header()
		}
		if !c.alerts {
			break
		}
		if based && prior.open != nil && prior.open.ID == open.ID {
			next.alerts, next.epoch = prior.alerts, prior.epoch
		}
		before := len(next.alerts)
		for i := range open.Changed {
			if next.alerts == nil {
				next.alerts = make(map[string]held, len(open.Changed))
			}
			next.alerts[open.Changed[i].Key] = held{open.Changed[i].Seen(), next.epoch}
		}
		if len(next.alerts) > MaxAlerts {
			next.alerts = nil
		}
		c.took(len(next.alerts) - before)
	}
	c.put(cm.Group, next)
}

// Drop marks what the cache holds of group key as gone: a commit computed
// from it was refused. Which alerts are its open incident's stays known
// for the next read.
func (c *Cache) Drop(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[key]; ok {
		e.stale = true
	}
}

// Clear forgets every group: what the cache holds may be gone (a
// failover to a master that lacks it).
func (c *Cache) Clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.m)
	c.taken = 0
}

func (c *Cache) put(key string, e *entry) {
	if _, ok := c.m[key]; !ok && len(c.m) >= c.max {
		clear(c.m)
		c.taken = 0
	}
	c.m[key] = e
}

// took counts n alerts added; past maxHeld, the cache starts again empty
// (Committed puts the entry it is writing back after). Called with mu
// held.
func (c *Cache) took(n int) {
	if c.taken += n; c.taken > c.maxHeld {
		clear(c.m)
		c.taken = 0
	}
}

func sameIncident(a, b *klaxon.Incident) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.ID == b.ID
}
