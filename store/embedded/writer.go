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
// together are a batch: they write into the writer's layer (mem), and
// their operations are appended to the log as one frame, with one
// fdatasync (group commit). Each caller is answered only after that
// fdatasync. A storm of deliveries to different groups costs one
// fdatasync per batch, not one per group; the pages its batches touch are
// written to the file once per checkpoint, not once per batch. Urgent
// writes (the escalation engine's) go ahead of the others, so a page never
// waits behind a storm of ingest.
//
// A second goroutine, the syncer, appends a batch's frame to the log and
// syncs it. Meanwhile the writer runs the writes that arrive in the same
// transaction, as the next batch, which the syncer takes itself once the
// one before is durable (or the writer hands it on, when the syncer is
// idle): the disk and the CPU work at once, and the next fdatasync takes
// everything that came during this one. The next batch
// ran on what the one before wrote: should that one fail to be made
// durable, mem is rebuilt from the log without it, and the
// next batch's writes run again.

// maxBatch bounds the writes one batch takes, so that an urgent write
// waits for at most one batch.
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
	// applied says fn returned nil and mem still holds what it wrote;
	// refusal is what fn returned
	// when it refused. The writer sets them with mu held; reads read
	// applied with mu held (see flight.holds).
	applied bool
	refusal error
	// landed, when set, is called once the write is durable, before it
	// is answered, on the syncer's goroutine: in the order the writes
	// applied, so that what follows a group's commits sees them in
	// order. It must be quick: the next frame waits for it.
	landed func()
	// span is the caller's, which the batch's span links to.
	span trace.SpanContext
	// group is the one group a commit writes, whose reads wait for it
	// while it is on its way to the log; "" for a write that may touch
	// any, which every read waits for; noGroup for one that touches no
	// group's records, which only the reads of everything wait for.
	group string
	// urgent says the write came by the urgent queue (see writer.queue).
	urgent bool
}

// failure is why writes cannot be made durable: a frame the log could
// not take, or a checkpoint the file could not. A frame's failure holds
// until a frame of at least need bytes is durable: on a disk nearly full,
// a small frame (Ping's probe) may still fit where a storm's do not. A
// checkpoint's holds until a checkpoint succeeds. Each kind is kept
// apart (writer.failedFrame, failedCheckpoint): neither ends the other.
type failure struct {
	err  error
	need int // 0 for a checkpoint's
}

// maxNeed caps failure.need, so that Ping's probe, which writes that
// much, can always tell that the disk has room again.
const maxNeed = 1 << 20

// frameFailed is the failure of a frame of size bytes.
func frameFailed(err error, size int) *failure {
	return &failure{err: err, need: max(min(size, maxNeed), 1)}
}

// clears reports whether a durable frame of size bytes ends f.
func (f *failure) clears(size int) bool { return size >= f.need }

// noGroup is the group of a write that touches no group's records.
const noGroup = "\x00"

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
		wr.applied, wr.refusal = false, errAfter
		return errAfter
	}
	err := wr.fn(tx)
	wr.applied, wr.refusal = err == nil, err
	return err
}

// A checkpoint commits the layer of writes to the file (see layer and
// checkpoint.go) once the batches it holds since the last one have
// waited checkpointEvery, or their records take checkpointBytes. Past
// maxHeldBytes in the two log files (checkpoints that keep failing: a
// full disk), writes wait for the checkpoint on its way, and are
// refused while it fails. Until a checkpoint, the layers hold what the
// batches wrote, and so does the memory: checkpointBytes bounds each of
// the two (their values take about what their frames do).
//
// A checkpoint costs the pages it writes: single events spread over
// many groups touch a page or more of the file each, and the more
// events a checkpoint takes, the more of them share a page. It runs off
// the writer, so its length holds up no write and no read: at 16 MB, a
// storm of single events spread over 1,000 groups took 17 % more events
// a second than with 4 MB checkpoints that held the writer
// (BenchmarkSingleEvents/embedded/spread).
const (
	checkpointEvery = 3 * time.Second
	checkpointBytes = 16 << 20
	maxHeldBytes    = 64 << 20
)

type writer struct {
	db *bolt.DB
	// tracer makes a span of each batch; nil for none.
	tracer trace.Tracer
	// failedFrame and failedCheckpoint hold why the last frame, or
	// checkpoint, could not be made durable (a full disk), until one like
	// it is (see failure). For tests: fault fails a log append, of the
	// payload it is given, and checkpointFault every checkpoint, with the
	// error it returns.
	failedFrame      atomic.Pointer[failure]
	failedCheckpoint atomic.Pointer[failure]
	fault            func(payload []byte) error
	checkpointFault  atomic.Pointer[func() error]
	// The checkpoint settings (see checkpointEvery and commitChunk),
	// fields for tests.
	every                                 time.Duration
	checkpointBytes, maxHeld, commitChunk int
	urgent                                chan *write
	normal                                chan *write
	stop                                  chan struct{}
	exited                                chan struct{}
	once                                  sync.Once
	// closing is held to queue a write and taken to stop the writer, so
	// that every write queued is answered: by the writer, or by drain.
	closing  sync.RWMutex
	closed   bool
	closeErr error

	// mu is held by the writer while it runs writes, and by readers
	// while they read.
	mu sync.Mutex
	// mem holds the writes of the batches since memFrom, the last two of
	// which may not be durable yet (syncing, cur); frozen, when not nil,
	// those up to memFrom, which the checkpointer is committing to the
	// file (see layer). The file holds those up to checkpointed.
	mem, frozen *layer
	memFrom     uint64
	// sized, when not nil, is the next freeze's new mem, made by the
	// checkpointer with room for what the last layer held.
	sized       *layer
	frozenBytes int64 // the frozen layer's frames in the log
	// freezes hands the checkpointer a frozen layer; tried is closed
	// once it has tried to commit it (and made anew for the next try).
	freezes chan struct{}
	tried   chan struct{}
	// file is the read transaction of the file the writer and readers
	// share while no checkpoint is on its way, with the buckets it
	// opened (see view).
	file        *bolt.Tx
	fileBuckets map[string]*bolt.Bucket
	// syncing is the batch whose frame the syncer is writing, nil if
	// none; cur the batch the writer runs writes in meanwhile, and hands
	// on next. A reader of what either writes waits for it to be durable
	// before it reads (see flight.holds). The writer changes both with mu
	// held.
	syncing, cur *flight
	// waits counts the reads that waited for a batch, reads the reads,
	// for tests.
	waits, reads atomic.Int64
	// broken is why mem could not be rebuilt: until it is, nothing is
	// read from or written to it.
	broken error

	// What follows is the writer's goroutine's, but for pos, rec's
	// buffer, sent and timer, which the syncer changes too, with mu held,
	// when it takes the next batch itself (durable); the writer reads
	// them with mu held, or while the syncer is idle.
	pos          uint64 // the log position of the last durable batch
	checkpointed uint64 // the position the file holds
	rec          record // cur's operations
	// log is where the frames since memFrom go; spare the other log
	// file: the frozen layer's frames, or empty.
	log, spare *wal
	// jobs hands an idle syncer a frame to write; synced tells the
	// writer of a frame that failed, or, nil, that the syncer took cur
	// or went idle. sent is the payload on its way, whose buffer the
	// next batch takes once it is back.
	jobs   chan job
	synced chan error
	sent   []byte
	// timelines counts the events of the timelines the layers appended
	// to; rebuild drops it with mem.
	timelines timelines
	timer     *time.Timer // the next checkpoint, armed while the log is not empty
}

func newWriter(db *bolt.DB, log, spare *wal, pos uint64) *writer {
	w := &writer{db: db, log: log, spare: spare, pos: pos, checkpointed: pos, memFrom: pos, mem: newLayer(), freezes: make(chan struct{}, 1), urgent: make(chan *write, maxBatch), normal: make(chan *write, maxBatch),
		stop: make(chan struct{}), exited: make(chan struct{}), timer: time.NewTimer(checkpointEvery), timelines: timelines{},
		cur: newFlight(), jobs: make(chan job), synced: make(chan error, 1),
		every: checkpointEvery, checkpointBytes: checkpointBytes, maxHeld: maxHeldBytes, commitChunk: commitChunk}
	w.timer.Stop()
	return w
}

// errClosed answers writes made after Close: unavailable, as a sender
// whose delivery meets a shutdown may send it again to a replica, or once
// Klaxon is back.
var errClosed = fmt.Errorf("store closed: %w", klaxon.ErrUnavailable)

// do runs fn on mem and returns once it is durable. A
// caller whose ctx ends before the writer takes its write gets ctx's
// error; once taken, the write finishes and do waits for it, so an error
// always means the write did not happen.
func (w *writer) do(ctx context.Context, urgent bool, group string, fn func(tx *txn) error) error {
	wr, err := w.queue(ctx, urgent, group, fn, nil, nil)
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
	wr := &write{fn: fn, done: make(chan struct{}), after: after, landed: landed, group: group, urgent: urgent}
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
	stopped, ckStop, ckStopped := make(chan struct{}), make(chan struct{}), make(chan struct{})
	go w.syncer(stopped)
	go w.checkpointer(ckStop, ckStopped)
	defer func() {
		close(w.jobs)
		<-stopped
	}()
	for {
		w.mu.Lock()
		room := maxBatch - len(w.cur.batch)
		w.mu.Unlock()
		normal := w.normal
		if room <= 0 {
			normal = nil // full: it waits for the syncer to take it
		}
		var first *write
		// Urgent first, then whichever comes.
		select {
		case first = <-w.urgent:
		default:
			select {
			case first = <-w.urgent:
			case first = <-normal:
			case err := <-w.synced:
				w.heard(err)
				w.next()
				continue
			case <-w.timer.C:
				_ = w.checkpoint() // one that cannot cut the log off tries again
				continue
			case <-w.stop:
				close(ckStop)
				<-ckStopped
				w.closeErr = w.finalCheckpoint()
				w.drain()
				w.mu.Lock()
				w.endView()
				w.mem, w.frozen = newLayer(), nil // what they held is in the log
				w.broken = errClosed              // the file alone may lack what the log holds
				w.mu.Unlock()
				return
			}
		}
		w.take(w.gather(first, max(room, 1)))
		w.next()
	}
}

// next hands cur to the syncer unless a batch is on its way, or takes a
// checkpoint if the log holds enough for one and none is on its way.
func (w *writer) next() {
	w.mu.Lock()
	busy, size, frozen := w.syncing != nil, w.log.size, w.frozen != nil
	w.mu.Unlock()
	if busy {
		return
	}
	if size >= int64(w.checkpointBytes) && !frozen {
		_ = w.checkpoint() // see run
		return
	}
	w.send()
}

// gather takes the writes waiting now, urgent ones first, up to room in
// all.
func (w *writer) gather(first *write, room int) []*write {
	batch := []*write{first}
	for _, q := range []chan *write{w.urgent, w.normal} {
	more:
		for len(batch) < room {
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
