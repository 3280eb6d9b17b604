package embedded

import (
	"encoding/binary"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// A checkpoint commits the batches since the last one to the file, off
// the writer: the writer freezes its layer (see layer), the next frames
// go to the other log file, and the checkpointer goroutine commits the
// frozen layer, with the log position it holds up to, then empties the
// frozen layer's log file. Meanwhile the writer fills a new layer, and
// reads look in both: nothing waits for the file's commit, which takes
// the pages of every incident a storm touched. Should it fail, the
// frozen layer stays, and is tried again every checkpointEvery.

// begin makes the writer ready for a batch: it fails while the layer
// could not be rebuilt. Called with mu held.
func (w *writer) begin() error {
	if w.broken != nil {
		return unavailable(w.broken)
	}
	return nil
}

// view runs fn on a txn of the layers over the file, with mu held. While
// no checkpoint is on its way, the file does not change: the writer and
// the readers share one read transaction of it, begun once after each
// checkpoint, with the buckets it opened. While one is, each takes a read
// transaction of its own, so that none is open for long: should the
// checkpoint's commit map the file again, bbolt waits for them all.
func (w *writer) view(rec *record, batch uint64, fn func(tx *txn) error) error {
	t := &txn{mem: w.mem, frozen: w.frozen, rec: rec, batch: batch, timelines: w.timelines}
	if rec == nil {
		t.timelines = nil
	}
	if w.frozen != nil {
		return w.db.View(func(tx *bolt.Tx) error {
			t.tx = tx
			return fn(t)
		})
	}
	if w.file == nil {
		tx, err := w.db.Begin(false)
		if err != nil {
			return err
		}
		w.file, w.fileBuckets = tx, map[string]*bolt.Bucket{}
	}
	t.tx, t.files = w.file, w.fileBuckets
	return fn(t)
}

// endView ends the read transaction the writer and readers share, before
// a checkpoint. w.mu is held.
func (w *writer) endView() {
	if w.file != nil {
		_ = w.file.Rollback()
		w.file, w.fileBuckets = nil, nil
	}
}

// rebuild drops mem and replays into a new one the batches made durable
// since it began, read from the log. Called with mu held.
func (w *writer) rebuild() {
	w.mem = newLayer()
	clear(w.timelines)
	w.broken = nil
	if w.pos == w.memFrom {
		return
	}
	data, err := w.log.read()
	if err != nil {
		w.broken = err
		return
	}
	err = w.view(nil, 0, func(tx *txn) error {
		last, _, err := replayLog(tx, data, w.memFrom)
		if err == nil && last != w.pos {
			err = fmt.Errorf("the log holds batches up to %d, not %d", last, w.pos)
		}
		return err
	})
	if err != nil {
		w.mem = newLayer()
		w.broken = err
		return
	}
	w.timer.Reset(w.every) // a checkpoint that found nothing did not arm it again
}

// ready mends mem if it could not be rebuilt, and, once the two log files
// hold maxHeld, waits for a checkpoint: a write waits for both. A
// checkpoint that failed refuses it.
func (w *writer) ready() error {
	for {
		w.mu.Lock()
		if w.broken != nil && w.syncing == nil {
			w.rebuild()
		}
		broken, size, frozen, tried := w.broken, w.log.size+w.frozenBytes, w.frozen != nil, w.tried
		w.mu.Unlock()
		switch {
		case broken != nil:
			return unavailable(broken)
		case size < int64(w.maxHeld):
			return nil
		case !frozen:
			if err := w.checkpoint(); err != nil {
				return unavailable(err)
			}
			continue
		}
		if f := w.failedCheckpoint.Load(); f != nil {
			return f.err
		}
		<-tried
	}
}

// checkpoint makes every batch durable, then freezes mem for the
// checkpointer, unless a checkpoint is on its way (the timer then tries
// again) or there is nothing to commit. It fails only when the log holds
// what a failed frame left, which it cannot cut off. The writer's
// goroutine calls it.
func (w *writer) checkpoint() error {
	w.mu.Lock()
	busy := w.frozen != nil
	w.mu.Unlock()
	if busy {
		w.timer.Reset(w.every)
		return nil
	}
	w.flush()
	// A frame that failed and could not be cut off may still be in the
	// log file past its end: the other file must not take its position
	// while it is there, for Open would replay it in place of the one
	// answered there. The syncer is idle.
	if err := w.log.clean(); err != nil {
		w.timer.Reset(w.every)
		return fmt.Errorf("cut off a frame that failed: %w", err)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.timer.Stop()
	if w.broken != nil || w.pos == w.memFrom {
		return nil
	}
	w.freeze()
	w.freezes <- struct{}{}
	return nil
}

// freeze makes mem the frozen layer, and the other log file the log: the
// frames of the batches to come go there, while the checkpoint has the
// frozen layer's. No batch is on its way; w.mu is held.
func (w *writer) freeze() {
	w.endView()
	next := w.sized
	if next == nil {
		next = newLayer()
	}
	w.frozen, w.mem, w.sized = w.mem, next, nil
	w.memFrom = w.pos
	w.frozenBytes = w.log.size
	w.log, w.spare = w.spare, w.log
	w.tried = make(chan struct{})
}

// checkpointer commits each frozen layer, trying again every
// w.every until it succeeds or stop is closed.
func (w *writer) checkpointer(stop <-chan struct{}, stopped chan<- struct{}) {
	defer close(stopped)
	for {
		select {
		case <-w.freezes:
		case <-stop:
			return
		}
		for w.commitFrozen() != nil {
			retry := time.NewTimer(w.every)
			select {
			case <-retry.C:
			case <-stop:
				retry.Stop()
				return
			}
		}
	}
}

// commitFrozen commits the frozen layer to the file, with the log
// position it holds up to, and then empties its log file, which the
// next freeze writes to.
func (w *writer) commitFrozen() error {
	w.mu.Lock()
	z, to, tried := w.frozen, w.memFrom, w.tried // frozen holds the batches up to memFrom
	w.mu.Unlock()
	if z == nil {
		return nil
	}
	err := w.commitLayer(z, to)
	if err != nil {
		err = unavailable(fmt.Errorf("checkpoint: %w", err))
		w.failedCheckpoint.Store(&failure{err: err})
		w.mu.Lock()
		w.tried = make(chan struct{})
		w.mu.Unlock()
		close(tried)
		return err
	}
	// A log not emptied keeps frames the file holds now: Open skips them.
	_ = w.spare.reset()
	// The next layer, made here rather than at the freeze, where the
	// writer would make it while the engine's writes wait.
	sized := z.sized()
	w.mu.Lock()
	w.frozen, w.checkpointed, w.frozenBytes, w.sized = nil, to, 0, sized
	w.failedCheckpoint.Store(nil) // the file takes checkpoints again, before a write can wait for the next
	close(tried)
	w.mu.Unlock()
	return nil
}

// commitChunk is about how many bytes of a frozen layer one bbolt
// transaction takes (see layer.commitTo).
const commitChunk = 2 << 20

// commitLayer commits z to the file, in transactions of w.commitChunk
// bytes, the last with the log position to.
func (w *writer) commitLayer(z *layer, to uint64) error {
	tx, err := w.db.Begin(true)
	if err != nil {
		return err
	}
	// tx is the transaction open now: the one commitTo began last.
	next := func() (*bolt.Tx, error) {
		var err error
		tx, err = w.db.Begin(true)
		return tx, err
	}
	err = z.commitTo(tx, w.commitChunk, next)
	if err == nil {
		if f := w.checkpointFault.Load(); f != nil {
			err = (*f)()
		}
	}
	if err == nil {
		err = tx.Bucket(bucketMeta).Put(logKey, binary.BigEndian.AppendUint64(nil, to))
	}
	if err != nil {
		if tx != nil {
			_ = tx.Rollback() // the one open, or one committed already: bbolt refuses it
		}
		return err
	}
	return tx.Commit()
}

// finalCheckpoint, at close, commits the frozen layer, if any, then mem:
// the checkpointer has stopped. What it could not commit stays in the
// log, for the next Open.
func (w *writer) finalCheckpoint() error {
	w.flush()
	if err := w.commitFrozen(); err != nil {
		return err
	}
	if err := w.log.clean(); err != nil { // see checkpoint
		return unavailable(err)
	}
	w.mu.Lock()
	w.timer.Stop()
	empty := w.broken != nil || w.pos == w.memFrom
	if !empty {
		w.freeze()
	}
	w.mu.Unlock()
	if empty {
		return nil
	}
	return w.commitFrozen()
}
