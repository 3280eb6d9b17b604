package embedded

import (
	"context"

	bolt "go.etcd.io/bbolt"
)

// view runs fn on what the store holds durably: the writes answered. A
// batch on its way to the log is waited for first, so that fn runs once,
// and never sees what a crash would lose. fn must not keep what it reads
// past its return.
func (s *Store) view(fn func(tx *txn) error) error {
	return s.viewGroup("", nil, fn)
}

// viewGroup is view for a read of one group's own records: it waits only
// for a batch that wrote that group, other than by chain and the writes
// chain follows (nil for none). A batch of other groups changes nothing
// fn reads; and a commit computed on what chain's writes did lands only
// if they do.
func (s *Store) viewGroup(group string, chain *write, fn func(tx *txn) error) error {
	w := s.w
	for {
		w.mu.Lock()
		f := w.holding(group, chain)
		if f == nil {
			break
		}
		w.mu.Unlock()
		w.waits.Add(1)
		<-f.done
	}
	return s.read(fn)
}

// peek is view without the wait: what fn reads may be of a batch still
// on its way to the log, and dropped if it cannot be written (and its
// version then given to another). It is for reads that only decide
// whether to write, and whose write looks again: the engine's look for
// due timers.
func (s *Store) peek(fn func(tx *txn) error) error {
	s.w.mu.Lock()
	return s.read(fn)
}

// read runs fn, with mu held, which it releases: on the layers over the
// file, or, when they hold nothing, on the file alone, which then holds
// every write answered, without holding the writer.
func (s *Store) read(fn func(tx *txn) error) error {
	w := s.w
	w.reads.Add(1)
	if broken := w.broken; broken != nil {
		w.mu.Unlock()
		return unavailable(broken)
	}
	if w.mem.empty() && w.frozen == nil {
		w.mu.Unlock()
		return s.db.View(func(tx *bolt.Tx) error { return fn(&txn{tx: tx}) })
	}
	defer w.mu.Unlock()
	return w.view(nil, 0, fn)
}

// update runs fn in a write transaction shared with the writes that
// arrive with it (see writer.do), for a write that touches no group's
// records (timers and claims, incident IDs, overrides, callbacks): a
// read of a group does not wait for it while it is on its way to the
// log, only a read of everything does. The escalation engine's claims
// come with every new incident; a read of a group that waited for each
// would wait for an fsync it has no part in.
func (s *Store) update(ctx context.Context, urgent bool, fn func(tx *txn) error) error {
	return s.w.do(ctx, urgent, noGroup, fn)
}
