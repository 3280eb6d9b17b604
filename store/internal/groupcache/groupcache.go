// Package groupcache keeps the decoded open incidents of the groups a
// store read lately, by the group's version, so that a store need not
// decode again an incident that did not change: a group that takes many
// deliveries is read far more often than it is written.
package groupcache

import (
	"sync"

	"github.com/klaxonhq/klaxon"
)

// Cache is safe for concurrent use. The incidents it holds are shared:
// callers must not change them (klaxon.Store.Group says so).
type Cache struct {
	mu  sync.Mutex
	max int
	m   map[string]entry
}

type entry struct {
	version uint64
	open    *klaxon.Incident
}

// New returns a cache of at most max groups.
func New(max int) *Cache { return &Cache{max: max, m: make(map[string]entry)} }

// Get returns the version and open incident held for group key.
func (c *Cache) Get(key string) (version uint64, open *klaxon.Incident, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[key]
	return e.version, e.open, ok
}

// Put holds open as group key's open incident at version. When the cache
// is full it starts again empty: simple, and a miss only costs a decode.
func (c *Cache) Put(key string, version uint64, open *klaxon.Incident) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= c.max {
		clear(c.m)
	}
	c.m[key] = entry{version, open}
}

// Committed holds what commit c, which landed, made of its group: the
// header of its open incident at the version after c, so that the next
// read of a group that takes a storm of commits decodes nothing.
func (c *Cache) Committed(cm klaxon.Commit) {
	for _, inc := range cm.Incidents {
		if inc.ID == cm.Open {
			c.Put(cm.Group, cm.Version+1, inc.Header())
			return
		}
	}
}
