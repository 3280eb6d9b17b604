// Package logthin thins out the log lines that a storm repeats by the
// thousand: 503s while the store cannot write, a Redis client's failed
// dials while Redis is down. Ten thousand a second would drown the
// lines of the pages that still go out, and a journal's rate limit
// would drop those too.
package logthin

import (
	"sync"
	"time"
)

// Every is how often a Thinner lets a line through.
const Every = time.Second

// Thinner lets the first line through, then at most one every Every,
// which carries the count of those it held back.
type Thinner struct {
	now func() time.Time

	mu   sync.Mutex
	next time.Time // when the next line may be logged
	held int       // the lines held back since the last one
}

// New returns a Thinner on the clock now (time.Now when nil).
func New(now func() time.Time) *Thinner {
	if now == nil {
		now = time.Now
	}
	return &Thinner{now: now}
}

// Let reports whether to log a line now, and how many it held back
// before it.
func (q *Thinner) Let() (ok bool, held int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	now := q.now()
	if now.Before(q.next) {
		q.held++
		return false, 0
	}
	held, q.held, q.next = q.held, 0, now.Add(Every)
	return true, held
}
