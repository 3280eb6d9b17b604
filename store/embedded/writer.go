package embedded

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/klaxonhq/klaxon"
	bolt "go.etcd.io/bbolt"
)

// The writer is the one goroutine that writes the file. Writes that arrive
// together share one transaction, and so one fsync (group commit): a
// storm of deliveries to different groups costs one fsync per batch, not
// one per group, and each caller is still answered only after the fsync
// that made its write durable. Urgent writes (the escalation engine's)
// go ahead of the others, so a page never waits behind a storm of ingest.

// maxBatch bounds the writes one transaction takes, so that an urgent
// write waits for at most one batch.
const maxBatch = 256

// write is one write waiting for the writer. fn runs in the batch's
// transaction. An error that matches klaxon.ErrConflict, ErrNotFound or
// ErrInvalid is a refusal: fn returns it before it writes anything, and
// the batch goes on without it. Any other error fails the transaction, and
// each write of the batch is then tried again in a transaction of its own.
type write struct {
	fn func(tx *bolt.Tx) error
	// done is closed once err holds the write's outcome.
	done chan struct{}
	err  error
	// after, when set, is a write queued before this one whose changes
	// this one was computed on: this one is refused (ErrConflict) unless
	// after applied, in this transaction or one written before.
	after *write
	// applied says fn returned nil in the transaction that holds it now,
	// or in the last one written; only the writer reads and writes it.
	applied bool
	// landed, when set, is called by the writer once the write is
	// durable, before it is answered and before the writer takes the
	// next batch: what follows a group's commits sees them in order.
	landed func()
}

// finish gives the write its outcome, after telling landed that it
// applied.
func (wr *write) finish(err error) {
	if err == nil && wr.landed != nil {
		wr.landed()
	}
	wr.err = err
	close(wr.done)
}

// errAfter refuses a write whose predecessor did not apply.
var errAfter = fmt.Errorf("the commit it follows did not apply: %w", klaxon.ErrConflict)

// run runs wr's fn in tx, unless the write it follows did not apply.
func (wr *write) run(tx *bolt.Tx) error {
	if wr.after != nil && !wr.after.applied {
		wr.applied = false
		return errAfter
	}
	err := wr.fn(tx)
	wr.applied = err == nil
	return err
}

type writer struct {
	db *bolt.DB
	// failed holds the last error of a transaction that could not be
	// written (a full disk), until one is; fault, for tests, fails every
	// transaction with the error it returns.
	failed atomic.Pointer[error]
	fault  func() error
	urgent chan *write
	normal chan *write
	stop   chan struct{}
	exited chan struct{}
	once   sync.Once
	// closing is held to queue a write and taken to stop the writer, so
	// that every write queued is answered: by the writer, or by drain.
	closing sync.RWMutex
	closed  bool
}

func newWriter(db *bolt.DB) *writer {
	w := &writer{db: db, urgent: make(chan *write, maxBatch), normal: make(chan *write, maxBatch),
		stop: make(chan struct{}), exited: make(chan struct{})}
	go w.run()
	return w
}

// errClosed answers writes made after Close.
var errClosed = errors.New("store closed")

// do runs fn in a write transaction and returns once it is durable. A
// caller whose ctx ends before the writer takes its write gets ctx's
// error; once taken, the write finishes and do waits for it, so an error
// always means the write did not happen.
func (w *writer) do(ctx context.Context, urgent bool, fn func(tx *bolt.Tx) error) error {
	wr, err := w.queue(ctx, urgent, fn, nil, nil)
	if err != nil {
		return err
	}
	return w.wait(wr)
}

// queue hands fn to the writer, after the writes queued before it, and
// returns at once; wait waits for its outcome. A write with after (a
// normal one, queued before, on the same queue) applies only if after
// did. landed, if not nil, is called once the write is durable (see
// write). Once close has begun, a queue may wait, whatever its ctx says,
// for the writes queued before it to be taken, and then fails.
func (w *writer) queue(ctx context.Context, urgent bool, fn func(tx *bolt.Tx) error, after *write, landed func()) (*write, error) {
	wr := &write{fn: fn, done: make(chan struct{}), after: after, landed: landed}
	q := w.normal
	if urgent {
		q = w.urgent
	}
	w.closing.RLock()
	defer w.closing.RUnlock()
	if w.closed {
		return nil, errClosed
	}
	select {
	case q <- wr:
		return wr, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// wait returns the outcome of a queued write.
func (w *writer) wait(wr *write) error {
	<-wr.done
	return wr.err
}

func (w *writer) run() {
	defer close(w.exited)
	for {
		var first *write
		// Urgent first, then whichever comes.
		select {
		case first = <-w.urgent:
		default:
			select {
			case first = <-w.urgent:
			case first = <-w.normal:
			case <-w.stop:
				w.drain()
				return
			}
		}
		w.commit(w.gather(first))
	}
}

// gather takes the writes waiting now, urgent ones first, up to maxBatch.
func (w *writer) gather(first *write) []*write {
	batch := []*write{first}
	for _, q := range []chan *write{w.urgent, w.normal} {
	more:
		for len(batch) < maxBatch {
			select {
			case wr := <-q:
				batch = append(batch, wr)
			default:
				break more
			}
		}
	}
	return batch
}

// commit runs a batch in one transaction, and each write alone if the
// transaction fails. An urgent write that arrives while the batch runs
// joins it, so that it waits for no more than this batch's fsync.
func (w *writer) commit(batch []*write) {
	var refused []error
	err := w.update(func(tx *bolt.Tx) error {
		refused = make([]error, 0, len(batch))
		for i := 0; i < len(batch); i++ {
			err := batch[i].run(tx)
			if err != nil && !isRefusal(err) {
				return err
			}
			refused = append(refused, err)
			select {
			case wr := <-w.urgent:
				batch = append(batch, wr)
			default:
			}
		}
		return nil
	})
	if err == nil || len(batch) == 1 {
		if err != nil {
			batch[0].applied = false // its transaction was not written
		}
		for i, wr := range batch {
			var r error
			if i < len(refused) {
				r = refused[i]
			}
			wr.finish(errors.Join(err, r))
		}
		return
	}
	// Nothing of the batch was written: each write again, alone, in order.
	for _, wr := range batch {
		wr.applied = false
	}
	for _, wr := range batch {
		err := w.update(wr.run)
		if err != nil {
			wr.applied = false
		}
		wr.finish(err)
	}
}

// update runs fn in a transaction of the file. A transaction that cannot
// be written fails with an error matching klaxon.ErrUnavailable: nothing
// was written, and the sender is to retry (503), never to give up.
func (w *writer) update(fn func(tx *bolt.Tx) error) error {
	err := w.db.Update(func(tx *bolt.Tx) error {
		if err := fn(tx); err != nil {
			return err
		}
		if w.fault != nil {
			return w.fault()
		}
		return nil
	})
	switch {
	case err == nil:
		w.failed.Store(nil)
	case !isRefusal(err):
		err = fmt.Errorf("write the file: %w: %w", klaxon.ErrUnavailable, err)
		w.failed.Store(&err)
	}
	return err
}

func isRefusal(err error) bool {
	return errors.Is(err, klaxon.ErrConflict) || errors.Is(err, klaxon.ErrNotFound) || errors.Is(err, klaxon.ErrInvalid)
}

// drain answers the writes still queued at Close.
func (w *writer) drain() {
	for {
		select {
		case wr := <-w.urgent:
			wr.finish(errClosed)
		case wr := <-w.normal:
			wr.finish(errClosed)
		default:
			return
		}
	}
}

// close stops the writer after the batch in flight, and waits for it.
func (w *writer) close() {
	w.once.Do(func() {
		w.closing.Lock()
		w.closed = true
		w.closing.Unlock()
		close(w.stop)
	})
	<-w.exited
}

// update runs fn in a write transaction shared with the writes that
// arrive with it: see writer.do.
func (s *Store) update(ctx context.Context, urgent bool, fn func(tx *bolt.Tx) error) error {
	return s.w.do(ctx, urgent, fn)
}
