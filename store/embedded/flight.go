package embedded

import (
	"fmt"
	"runtime"
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
	// tainted says mem holds what a write of the batch wrote before it
	// failed, until it is rebuilt without it (restart): every read
	// waits.
	tainted bool
	// durable says the batch's frame is in the log: no read waits for it,
	// though its writes may not be answered yet.
	durable bool
	// span is the batch's, from the moment it is handed on; nil when not
	// traced.
	span trace.Span
}

func newFlight() *flight { return &flight{done: make(chan struct{})} }

// holds says whether a read of group, "" for any, must wait for the
// batch: whether the batch may have written it (a write of no group may
// write any; a write refused wrote nothing), other than by chain and the
// writes chain follows, whose fate chain shares. w.mu is held.
func (f *flight) holds(group string, chain *write) bool {
	if f.durable {
		return false
	}
	if f.tainted {
		return true
	}
	if !f.wrote {
		return false
	}
	for _, wr := range f.batch {
		if wr.applied && (wr.group == "" || group == "" || wr.group == group) && !chain.follows(wr) {
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

// take runs the writes of batch into mem, after cur's,
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
	// rebuilds it). The syncer does not take a tainted batch.
	w.idle()
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.cur.tainted {
		w.restart()
	}
}

// runFrom runs cur's writes from the i-th on into mem, and says whether
// they ran. A write that fails (not a refusal) is answered at once and
// dropped from cur, and runFrom returns false: mem holds what it wrote,
// and is to be rebuilt without it (restart). w.mu is held.
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
	if w.syncing != nil && !w.syncing.durable {
		pos++
	}
	ran := true
	err := w.view(&w.rec, pos, func(t *txn) error {
		ran = w.runIn(t, f, i)
		return nil
	})
	if err != nil {
		settled(f.batch)
		failAll(f.batch, unavailable(err))
		w.rec.buf = w.rec.buf[:0]
		w.dropCur()
		return true
	}
	return ran
}

// runIn is runFrom's loop, in t.
func (w *writer) runIn(t *txn, f *flight, i int) bool {
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

// restart rebuilds mem from the log and runs cur's
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
// nothing. No batch is on its way: the syncer is idle.
func (w *writer) send() {
	w.mu.Lock()
	f := w.cur
	if len(f.batch) == 0 {
		w.mu.Unlock()
		return
	}
	var j job
	if f.wrote {
		j = w.handOn(f)
	} else {
		w.cur = newFlight()
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
	if err := w.log.clean(); err != nil {
		// As if the frame failed; the syncer is idle, and word of it
		// may wait in synced already.
		w.failSyncing(fmt.Errorf("append to log: a frame that failed may still be in it: %w", err))
		return
	}
	w.jobs <- j
}

// handOn makes f, cur until now, the batch on its way, with its record
// as the payload of the frame j; the record's next buffer is the one
// back from the frame before. w.mu is held.
func (w *writer) handOn(f *flight) (j job) {
	w.syncing, w.cur = f, newFlight()
	j = job{pos: w.pos + 1, payload: w.rec.buf, off: w.log.size}
	w.rec.buf, w.sent = w.sent[:0], w.rec.buf
	return j
}

// dropBigSent lets go of the buffer of the frame that was on its way when
// a storm's big batch made it too big to keep for the next. w.mu is
// held, or the syncer idle.
func (w *writer) dropBigSent() {
	if cap(w.sent) > 1<<20 {
		w.sent = nil
	}
}

// yields says whether the syncer, once it has answered f, whose frame
// took frame bytes, lets the senders it answered run before it takes the
// next frame. Those it wakes wait on its P, and the next fdatasync would
// hold that P in a system call until the runtime takes it back: in a
// storm of single events they waited 0.8 ms on average before they ran,
// against 0.16 for a goroutine woken by another, and the machine idled
// meanwhile. So the syncer yields, and the frame it takes next holds
// what came meanwhile.
//
// A yield puts the syncer behind every goroutine ready to run, so it
// yields only where each is brief: when both the frame it answered and
// the next one hold small writes. In a storm of big bodies, its senders
// decode the next for milliseconds, and the next fdatasync, and any page
// behind it, would wait for them. And never while an urgent write (the
// engine's) waits or is in the next frame. (One the writer has taken
// from its queue and not yet run is in neither: it goes in the frame
// after the yield.) w.mu is held.
func (w *writer) yields(f *flight, frame int) bool {
	// A frame of no write takes its 0 bytes or more: no yield.
	next := w.cur.batch
	if len(w.urgent) > 0 || frame >= yieldPerWrite*len(f.batch) || len(w.rec.buf) >= yieldPerWrite*len(next) {
		return false
	}
	return !slices.ContainsFunc(next, func(wr *write) bool { return wr.urgent })
}

// yieldPerWrite is the most a frame takes a write on average for the
// syncer to yield (see yields): a single event's commit takes about a
// kilobyte when it joins an incident and less when it is a new
// occurrence, a body of 100 new occurrences 10 to 50 kilobytes.
const yieldPerWrite = 2 << 10

// job is a batch's frame for the syncer: its log position, its payload,
// and the log's end, where it goes.
type job struct {
	pos     uint64
	payload []byte
	off     int64
}

// syncer writes each job's frame to the log. Once a frame is durable,
// the syncer answers its batch and takes the next one, cur, itself when
// the writer has one ready (see durable): the next fdatasync starts
// without waiting for the writer's goroutine to be scheduled, which, on
// a busy machine, took as long as an fdatasync. A frame that fails goes
// back to the writer (synced), which rebuilds mem without it;
// so does word that the syncer went idle, on which the writer hands it
// cur or takes a checkpoint.
func (w *writer) syncer(stopped chan<- struct{}) {
	defer close(stopped)
	for j := range w.jobs {
		for {
			var err error
			if w.fault != nil {
				err = w.fault(j.payload)
			}
			if err == nil {
				err = w.log.write(j.pos, j.payload, j.off)
			}
			if err != nil {
				w.synced <- err
				break
			}
			next, ok := w.durable()
			if !ok {
				break
			}
			j = next
		}
	}
}

// durable answers the batch on its way, whose frame is now in the log,
// then hands the syncer cur in its place when cur wrote, is not tainted,
// and the log has room for it before a checkpoint. Otherwise the syncer
// goes idle, and wakes the writer: a batch the writer answers without a
// frame once the syncer is idle comes after the answered ones. It runs
// on the syncer's goroutine.
func (w *writer) durable() (job, bool) {
	w.mu.Lock()
	f, frame := w.syncing, len(w.sent)
	w.log.appended(frame)
	if fail := w.failedFrame.Load(); fail != nil && fail.clears(frame) {
		w.failedFrame.CompareAndSwap(fail, nil)
	}
	w.dropBigSent()
	if w.pos == w.memFrom {
		w.timer.Reset(w.every)
	}
	w.pos++
	f.durable = true
	settled(f.batch)
	yield := w.yields(f, frame)
	w.mu.Unlock()
	close(f.done)
	if f.span != nil {
		f.span.End()
	}
	for _, wr := range f.batch {
		wr.finish(wr.refusal)
	}
	if yield {
		runtime.Gosched()
	}
	w.mu.Lock()
	next := w.cur
	take := next.wrote && !next.tainted && (w.log.size < int64(w.checkpointBytes) || w.frozen != nil)
	var j job
	if take {
		if len(next.batch) >= maxBatch {
			w.wake() // it stopped taking writes until cur was handed on
		}
		j = w.handOn(next)
	} else {
		w.syncing = nil
	}
	w.mu.Unlock()
	if take && w.tracer != nil {
		next.span = w.batchSpan(next.batch)
	}
	if !take {
		w.wake()
	}
	return j, take
}

// wake tells the writer that the syncer took cur or went idle, unless
// word of it already waits.
func (w *writer) wake() {
	select {
	case w.synced <- nil:
	default:
	}
}

// heard handles word from the syncer: a frame that failed, or, nil, that
// it took cur or went idle.
func (w *writer) heard(err error) {
	if err != nil {
		w.failSyncing(err)
	}
}

// idle waits until no batch is on its way.
func (w *writer) idle() {
	for {
		w.mu.Lock()
		busy := w.syncing != nil
		w.mu.Unlock()
		if !busy {
			return
		}
		w.heard(<-w.synced)
	}
}

// failSyncing fails the batch on its way to the log, whose append
// returned err: mem is rebuilt without it, and cur's writes,
// which ran on it, run again. The syncer is idle.
func (w *writer) failSyncing(err error) {
	f := w.syncing
	w.log.drop()
	err = unavailable(err)
	w.failedFrame.Store(frameFailed(err, len(w.sent)))
	w.dropBigSent()
	w.mu.Lock()
	w.syncing = nil
	for _, wr := range f.batch {
		wr.applied = false // what cur's writes follow of it did not apply
	}
	w.restart() // without it; cur's writes ran on it
	settled(f.batch)
	w.mu.Unlock()
	close(f.done)
	if f.span != nil {
		f.span.End()
	}
	failAll(f.batch, err)
}

// flush makes every batch durable: it hands cur on and waits for what is
// on its way to the log.
func (w *writer) flush() {
	for {
		w.idle()
		w.mu.Lock()
		empty := len(w.cur.batch) == 0
		w.mu.Unlock()
		if empty {
			return
		}
		w.send()
	}
}

// settle is settled, taking w.mu.
func (w *writer) settle(batch []*write) {
	w.mu.Lock()
	defer w.mu.Unlock()
	settled(batch)
}
