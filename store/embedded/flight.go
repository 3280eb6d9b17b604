package embedded

import (
	"fmt"
	"slices"

	"go.opentelemetry.io/otel/trace"
)

// A flight is a batch: the writes the writer runs in the open
// transaction while the batch before it is on its way to the log (cur),
// then handed to the syncer as one frame (syncing), until they are
// durable and answered.
type flight struct {
	// done is closed once the batch is durable, or dropped.
	done  chan struct{}
	batch []*write
	// wrote says the batch's record holds something: a batch that wrote
	// nothing is answered without a frame, once the one before it is.
	wrote bool
	// tainted says the open transaction holds what a write of the batch
	// wrote before it failed, until it is rebuilt without it (restart):
	// every read waits.
	tainted bool
	// span is the batch's, from the moment it is handed on; nil when not
	// traced.
	span trace.Span
}

func newFlight() *flight { return &flight{done: make(chan struct{})} }

// holds says whether a read of group, "" for any, must wait for the
// batch: whether the batch may have written it (a write of no group may
// write any), other than by chain and the writes chain follows, whose
// fate chain shares. w.mu is held.
func (f *flight) holds(group string, chain *write) bool {
	if f.tainted {
		return true
	}
	if !f.wrote {
		return false
	}
	for _, wr := range f.batch {
		if (wr.group == "" || group == "" || wr.group == group) && !chain.follows(wr) {
			return true
		}
	}
	return false
}

// holding returns the batch, not durable yet, that a read of group must
// wait for (see holds); nil if none. w.mu is held.
func (w *writer) holding(group string, chain *write) *flight {
	for _, f := range []*flight{w.syncing, w.cur} {
		if f != nil && f.holds(group, chain) {
			return f
		}
	}
	return nil
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

// take runs the writes of batch in the open transaction, after cur's,
// and adds them to cur.
func (w *writer) take(batch []*write) {
	if err := w.ready(); err != nil {
		w.settle(batch)
		failAll(batch, err)
		return
	}
	w.mu.Lock()
	from := len(w.cur.batch)
	w.cur.batch = append(w.cur.batch, batch...)
	ran := w.runFrom(from)
	w.mu.Unlock()
	if ran {
		return
	}
	// The transaction holds what the failed write wrote: it is rebuilt
	// from the log, once the batch on its way is there or dropped (which
	// rebuilds it).
	if w.syncing != nil {
		w.answer(<-w.synced)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.cur.tainted {
		w.restart()
	}
}

// runFrom runs cur's writes from the i-th on in the open transaction,
// and says whether they ran. A write that fails (not a refusal) is
// answered at once and dropped from cur, and runFrom returns false: the
// transaction holds what it wrote, and is to be rebuilt without it
// (restart). w.mu is held.
func (w *writer) runFrom(i int) bool {
	f := w.cur
	if i == 0 {
		w.rec.buf = w.rec.buf[:0]
	}
	if err := w.begin(); err != nil {
		settled(f.batch)
		failAll(f.batch, err)
		w.rec.buf = w.rec.buf[:0]
		w.dropCur()
		return true
	}
	pos := w.pos + 1
	if w.syncing != nil {
		pos++
	}
	t := &txn{tx: w.tx, rec: &w.rec, batch: pos, timelines: w.timelines}
	for ; i < len(f.batch); i++ {
		wr := f.batch[i]
		mark := w.rec.len()
		err := wr.run(t)
		if err != nil && (!isRefusal(err) || w.rec.len() != mark) {
			// What it wrote cannot be taken back alone.
			f.batch = slices.Delete(f.batch, i, i+1)
			wr.applied = false
			settled([]*write{wr})
			wr.finish(unavailable(err))
			for _, wr := range f.batch {
				wr.applied = false
			}
			f.tainted = true
			return false
		}
		select {
		case wr := <-w.urgent:
			f.batch = append(f.batch, wr)
		default:
		}
	}
	f.wrote = w.rec.len() > 0
	return true
}

// restart rebuilds the open transaction from the log and runs cur's
// writes in it again: what it held of them was dropped, or ran on a
// batch that was. No batch is on its way; w.mu is held.
func (w *writer) restart() {
	for {
		w.rebuild()
		if w.runFrom(0) {
			break
		}
	}
	w.cur.tainted = false
	if len(w.cur.batch) == 0 {
		w.dropCur()
	}
}

// dropCur ends cur, whose writes have all been answered without a frame:
// the reads that wait for it go on. w.mu is held.
func (w *writer) dropCur() {
	close(w.cur.done)
	w.cur = newFlight()
}

// send hands cur to the syncer, or answers it at once if it wrote
// nothing. No batch is on its way.
func (w *writer) send() {
	f := w.cur
	if len(f.batch) == 0 {
		return
	}
	w.mu.Lock()
	w.cur = newFlight()
	payload := w.rec.buf
	if f.wrote {
		w.syncing = f
		w.rec.buf = w.sent[:0]
		w.sent = payload
	} else {
		settled(f.batch)
	}
	w.mu.Unlock()
	if !f.wrote {
		// Every batch before it is durable: so is what it read.
		close(f.done)
		for _, wr := range f.batch {
			wr.finish(wr.refusal)
		}
		return
	}
	if w.tracer != nil {
		f.span = w.batchSpan(f.batch)
	}
	var err error
	if w.fault != nil {
		err = w.fault()
	}
	if err == nil {
		if err = w.log.clean(); err != nil {
			err = fmt.Errorf("append to log: a frame that failed may still be in it: %w", err)
		}
	}
	if err != nil {
		w.synced <- err
		return
	}
	w.jobs <- job{pos: w.pos + 1, payload: payload, off: w.log.size}
}

// job is a batch's frame for the syncer: its log position, its payload,
// and the log's end, where it goes.
type job struct {
	pos     uint64
	payload []byte
	off     int64
}

// syncer writes each job's frame to the log, and answers on synced.
func (w *writer) syncer(stopped chan<- struct{}) {
	defer close(stopped)
	for j := range w.jobs {
		w.synced <- w.log.write(j.pos, j.payload, j.off)
	}
}

// answer answers the batch on its way to the log, whose append returned
// err. If it failed, the transaction is rebuilt without it, and cur's
// writes, which ran on it, run again.
func (w *writer) answer(err error) {
	f := w.syncing
	if err == nil {
		w.log.appended(len(w.sent))
	} else {
		w.log.drop()
	}
	if cap(w.sent) > 1<<20 {
		w.sent = nil // a storm's big batch is not kept
	}
	if err == nil {
		w.failed.Store(nil)
		if w.pos == w.checkpointed {
			w.timer.Reset(w.every)
		}
		w.pos++
	} else {
		err = unavailable(err)
		w.failed.Store(&err)
	}
	w.mu.Lock()
	w.syncing = nil
	if err != nil {
		for _, wr := range f.batch {
			wr.applied = false // what cur's writes follow of it did not apply
		}
		w.restart() // without it; cur's writes ran on it
	}
	settled(f.batch)
	w.mu.Unlock()
	close(f.done)
	if f.span != nil {
		f.span.End()
	}
	if err != nil {
		failAll(f.batch, err)
		return
	}
	for _, wr := range f.batch {
		wr.finish(wr.refusal)
	}
}

// flush makes every batch durable: it hands cur on and waits for what is
// on its way to the log.
func (w *writer) flush() {
	for w.syncing != nil || len(w.cur.batch) > 0 {
		if w.syncing != nil {
			w.answer(<-w.synced)
		} else {
			w.send()
		}
	}
}

// settle is settled, taking w.mu.
func (w *writer) settle(batch []*write) {
	w.mu.Lock()
	defer w.mu.Unlock()
	settled(batch)
}
