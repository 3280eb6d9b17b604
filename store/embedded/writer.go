package embedded

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/klaxonhq/klaxon"
	bolt "go.etcd.io/bbolt"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// The writer is the one goroutine that writes the file. Writes that arrive
// together are a batch: they run in the writer's open transaction, and
// their operations are appended to the log as one frame, with one
// fdatasync (group commit). Each caller is answered only after that
// fdatasync. A storm of deliveries to different groups costs one
// fdatasync per batch, not one per group; the pages its batches touch are
// written to the file once per checkpoint, not once per batch. Urgent
// writes (the escalation engine's) go ahead of the others, so a page never
// waits behind a storm of ingest.

// maxBatch bounds the writes one transaction takes, so that an urgent
// write waits for at most one batch.
const maxBatch = 256

// write is one write waiting for the writer. fn runs in the open
// transaction. An error that matches klaxon.ErrConflict, ErrNotFound or
// ErrInvalid is a refusal: fn returns it before it writes anything, and
// the batch goes on without it. Any other error fails the write: the
// transaction is rebuilt without it, and the rest of the batch runs again.
type write struct {
	fn func(tx *txn) error
	// done is closed once err holds the write's outcome.
	done chan struct{}
	err  error
	// after, when set, is a write queued before this one whose changes
	// this one was computed on: this one is refused (ErrConflict) unless
	// after applied, in this transaction or one written before. It is
	// read and cleared, once this one is settled, with the writer's mu
	// held.
	after *write
	// applied says fn returned nil in the open transaction and the
	// transaction still holds what it wrote; only the writer reads and
	// writes it.
	applied bool
	// landed, when set, is called by the writer once the write is
	// durable, before it is answered and before the writer takes the
	// next batch: what follows a group's commits sees them in order.
	landed func()
	// span is the caller's, which the batch's span links to.
	span trace.SpanContext
	// group is the one group a commit writes, whose reads wait for it
	// while it is on its way to the log; "" for a write that may touch
	// any, which every read waits for.
	group string
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
func (wr *write) run(tx *txn) error {
	if wr.after != nil && !wr.after.applied {
		wr.applied = false
		return errAfter
	}
	err := wr.fn(tx)
	wr.applied = err == nil
	return err
}

// A checkpoint commits the open transaction to the file once the batches
// it holds since the last one have waited checkpointEvery, or their
// records take checkpointBytes. Past maxHeldBytes (checkpoints that keep
// failing: a full disk), writes are refused until one succeeds. Until a
// checkpoint, the open transaction holds what the batches wrote, and so
// does the memory: checkpointBytes bounds it, with the pages the records
// touch (several times their bytes when they are spread over the file).
//
// A checkpoint costs the pages it writes, and holds up every write and
// read while it runs. Single events spread over many groups touch a page
// or more of the file each: at 1 MB of log, a checkpoint came every
// thousand events and wrote a page for nearly each (about 40 ms, a
// quarter of the writer's time). At 4 MB the same pages take four times
// the events, for about 50 ms a checkpoint.
const (
	checkpointEvery = time.Second
	checkpointBytes = 4 << 20
	maxHeldBytes    = 64 << 20
)

type writer struct {
	db  *bolt.DB
	log *wal
	// tracer makes a span of each batch; nil for none.
	tracer trace.Tracer
	// failed holds the last error of a write that could not be made
	// durable (a full disk), until one is. For tests: fault fails every
	// log append, and checkpointFault every checkpoint, with the error it
	// returns.
	failed          atomic.Pointer[error]
	fault           func() error
	checkpointFault atomic.Pointer[func() error]
	// The checkpoint settings (see checkpointEvery), fields for tests.
	every                    time.Duration
	checkpointBytes, maxHeld int
	urgent                   chan *write
	normal                   chan *write
	stop                     chan struct{}
	exited                   chan struct{}
	once                     sync.Once
	// closing is held to queue a write and taken to stop the writer, so
	// that every write queued is answered: by the writer, or by drain.
	closing  sync.RWMutex
	closed   bool
	closeErr error

	// mu is held by the writer while it runs writes in tx or commits it,
	// and by readers while they read it.
	mu sync.Mutex
	// tx is the open transaction: the file's last checkpoint and the
	// batches since, the last of which may still be on its way to the
	// log (inflight). Nil after a checkpoint until the next batch.
	tx *bolt.Tx
	// inflight, while a batch is in tx and not yet durable, says what it
	// writes, and is done once it is durable or dropped: a reader of what
	// it writes waits for it before it reads.
	inflight *flight
	// waits counts the reads that waited for a batch, for tests.
	waits atomic.Int64
	// broken is why tx could not be rebuilt: until it is, nothing is read
	// from or written to it.
	broken error

	// Only the writer's goroutine uses what follows.
	pos          uint64 // the log position of the last durable batch
	checkpointed uint64 // the position the file holds
	rec          record
	// timelines counts the events of the timelines the open transaction
	// appended to; rebuild drops it with the transaction.
	timelines timelines
	timer     *time.Timer // the next checkpoint, armed while the log is not empty
	retrying  bool        // the last checkpoint failed
}

func newWriter(db *bolt.DB, log *wal, pos uint64) *writer {
	w := &writer{db: db, log: log, pos: pos, checkpointed: pos, urgent: make(chan *write, maxBatch), normal: make(chan *write, maxBatch),
		stop: make(chan struct{}), exited: make(chan struct{}), timer: time.NewTimer(checkpointEvery), timelines: timelines{},
		every: checkpointEvery, checkpointBytes: checkpointBytes, maxHeld: maxHeldBytes}
	w.timer.Stop()
	return w
}

// errClosed answers writes made after Close.
var errClosed = errors.New("store closed")

// do runs fn in the open transaction and returns once it is durable. A
// caller whose ctx ends before the writer takes its write gets ctx's
// error; once taken, the write finishes and do waits for it, so an error
// always means the write did not happen.
func (w *writer) do(ctx context.Context, urgent bool, fn func(tx *txn) error) error {
	wr, err := w.queue(ctx, urgent, "", fn, nil, nil)
	if err != nil {
		return err
	}
	return w.wait(wr)
}

// queue hands fn to the writer, after the writes queued before it, and
// returns at once; wait waits for its outcome. A write with after (a
// normal one, queued before, on the same queue) applies only if after
// did. group is the one group fn writes, "" if it may write any (see
// write). landed, if not nil, is called once the write is durable (see
// write). Once close has begun, a queue may wait, whatever its ctx says,
// for the writes queued before it to be taken, and then fails.
func (w *writer) queue(ctx context.Context, urgent bool, group string, fn func(tx *txn) error, after *write, landed func()) (*write, error) {
	wr := &write{fn: fn, done: make(chan struct{}), after: after, landed: landed, group: group}
	if w.tracer != nil {
		wr.span = trace.SpanContextFromContext(ctx)
	}
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
			case <-w.timer.C:
				_ = w.checkpoint() // a failure is kept in failed, and tried again
				continue
			case <-w.stop:
				w.closeErr = w.checkpoint()
				w.drain()
				w.mu.Lock()
				if w.tx != nil {
					_ = w.tx.Rollback() // what it held is in the log
					w.tx = nil
				}
				w.broken = errClosed // the file alone may lack what the log holds
				w.mu.Unlock()
				return
			}
		}
		w.commit(w.gather(first))
		// After a failed checkpoint, the timer alone tries again: each try
		// rebuilds the transaction from the log.
		if w.log.size >= int64(w.checkpointBytes) && !w.retrying {
			_ = w.checkpoint()
		}
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

// unavailable says that a write could not be made durable: nothing of it
// was written, and the sender is to retry (503), never to give up.
func unavailable(err error) error {
	return fmt.Errorf("write the file: %w: %w", klaxon.ErrUnavailable, err)
}

// commit runs a batch in the open transaction, appends its record to the
// log, and answers each write once the record is durable. An urgent write
// that arrives while the batch runs joins it, so that it waits for no
// more than this batch's fdatasync.
func (w *writer) commit(batch []*write) {
	if w.tracer != nil {
		span := w.batchSpan(batch)
		defer span.End()
	}
	if err := w.ready(); err != nil {
		w.settle(batch)
		failAll(batch, err)
		return
	}
	batch, refused, err := w.apply(batch)
	if err != nil {
		w.settle(batch)
		failAll(batch, err)
		return
	}
	if w.rec.len() > 0 {
		err = w.durable()
	}
	w.mu.Lock()
	done := w.inflight
	w.inflight = nil
	if err != nil {
		w.rebuild() // without the batch
	}
	settled(batch)
	w.mu.Unlock()
	if done != nil {
		close(done.done)
	}
	if err != nil {
		failAll(batch, err)
		return
	}
	for i, wr := range batch {
		wr.finish(refused[i])
	}
}

// failAll answers every write of batch with err: none of it is written.
func failAll(batch []*write, err error) {
	for _, wr := range batch {
		wr.applied = false
		wr.finish(err)
	}
}

// settled forgets what the writes of batch followed, as each gets its
// outcome: what follows a write needs only that, and a hot group's chain
// of commits is not kept alive from one to the next. w.mu is held.
func settled(batch []*write) {
	for _, wr := range batch {
		wr.after = nil
	}
}

// settle is settled, taking w.mu.
func (w *writer) settle(batch []*write) {
	w.mu.Lock()
	defer w.mu.Unlock()
	settled(batch)
}

// batchSpan starts the span of a batch: a trace of its own, linked to
// the spans of its writes.
func (w *writer) batchSpan(batch []*write) trace.Span {
	links := make([]trace.Link, 0, len(batch))
	for _, wr := range batch {
		if wr.span.IsValid() {
			links = append(links, trace.Link{SpanContext: wr.span})
		}
	}
	_, span := w.tracer.Start(context.Background(), "embedded.batch", trace.WithNewRoot(), trace.WithLinks(links...),
		trace.WithAttributes(attribute.Int("klaxon.writes", len(batch))))
	return span
}

// durable appends the batch's record to the log.
func (w *writer) durable() error {
	err := error(nil)
	if w.fault != nil {
		err = w.fault()
	}
	if err == nil {
		err = w.log.append(w.pos+1, w.rec.buf)
	}
	if err != nil {
		err = unavailable(err)
		w.failed.Store(&err)
		return err
	}
	w.failed.Store(nil)
	if cap(w.rec.buf) > 1<<20 {
		w.rec.buf = nil // a storm's big batch is not kept
	}
	if w.pos == w.checkpointed {
		w.timer.Reset(w.every)
	}
	w.pos++
	return nil
}

// apply runs the writes of batch in the open transaction, and returns
// the writes it ran, with each one's refusal. A write that fails (not a
// refusal) is answered at once, and the transaction is rebuilt without
// what it wrote: the writes before it run again. The batch's record is
// w.rec; inflight is set if it holds anything.
func (w *writer) apply(batch []*write) ([]*write, []error, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.begin(); err != nil {
		return batch, nil, err
	}
	refused := make([]error, 0, len(batch))
	t := &txn{tx: w.tx, rec: &w.rec, batch: w.pos + 1, timelines: w.timelines}
	w.rec.buf = w.rec.buf[:0]
	for i := 0; i < len(batch); i++ {
		mark := w.rec.len()
		err := batch[i].run(t)
		if err != nil && (!isRefusal(err) || w.rec.len() != mark) {
			// What it wrote cannot be taken back alone.
			failed := batch[i]
			failed.applied = false
			batch = append(batch[:i:i], batch[i+1:]...)
			settled([]*write{failed})
			failed.finish(unavailable(err))
			w.rebuild()
			if err := w.begin(); err != nil {
				return batch, nil, err
			}
			for _, wr := range batch {
				wr.applied = false
			}
			t.tx = w.tx
			w.rec.buf = w.rec.buf[:0]
			refused = refused[:0]
			i = -1
			continue
		}
		refused = append(refused, err)
		select {
		case wr := <-w.urgent:
			batch = append(batch, wr)
		default:
		}
	}
	if w.rec.len() > 0 {
		w.inflight = newFlight(batch)
	}
	return batch, refused, nil
}

// A flight is a batch on its way to the log.
type flight struct {
	done  chan struct{}
	batch []*write
}

func newFlight(batch []*write) *flight {
	return &flight{done: make(chan struct{}), batch: batch}
}

// holds says whether a read of group, "" for any, must wait for the
// batch: whether the batch may have written it (a write of no group may
// write any), other than by chain and the writes chain follows, whose
// fate chain shares. w.mu is held.
func (f *flight) holds(group string, chain *write) bool {
	for _, wr := range f.batch {
		if (wr.group == "" || group == "" || wr.group == group) && !chain.follows(wr) {
			return true
		}
	}
	return false
}

// follows says whether wr is w or a write w follows (see write.after);
// the writer's mu is held.
func (w *write) follows(wr *write) bool {
	for ; w != nil; w = w.after {
		if w == wr {
			return true
		}
	}
	return false
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

// close stops the writer after the batch in flight, takes a last
// checkpoint, and waits for it. Its error is the checkpoint's: what it
// could not write stays in the log, for the next Open.
func (w *writer) close() error {
	w.once.Do(func() {
		w.closing.Lock()
		w.closed = true
		w.closing.Unlock()
		close(w.stop)
	})
	<-w.exited
	return w.closeErr
}
