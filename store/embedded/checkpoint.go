package embedded

import (
	"encoding/binary"
	"fmt"
)

// begin opens a transaction if there is none. Called with mu held.
func (w *writer) begin() error {
	if w.broken != nil {
		return unavailable(w.broken)
	}
	if w.tx != nil {
		return nil
	}
	tx, err := w.db.Begin(true)
	if err != nil {
		return unavailable(err)
	}
	w.tx = tx
	return nil
}

// rebuild rolls back the open transaction and replays into a new one the
// batches made durable since the last checkpoint, read from the log.
// Called with mu held.
func (w *writer) rebuild() {
	if w.tx != nil {
		_ = w.tx.Rollback()
		w.tx = nil
	}
	clear(w.timelines)
	w.broken = nil
	if w.pos == w.checkpointed {
		return
	}
	data, err := w.log.read()
	if err != nil {
		w.broken = err
		return
	}
	tx, err := w.db.Begin(true)
	if err != nil {
		w.broken = err
		return
	}
	last, _, err := replayLog(tx, data, w.checkpointed)
	if err == nil && last != w.pos {
		err = fmt.Errorf("the log holds batches up to %d, not %d", last, w.pos)
	}
	if err != nil {
		_ = tx.Rollback()
		w.broken = err
		return
	}
	w.tx = tx              // which holds slices of data, and so keeps it
	w.timer.Reset(w.every) // a checkpoint that found no transaction did not arm it again
}

// ready mends the open transaction if it could not be rebuilt, and takes
// a checkpoint if the log holds too much: a write waits for both.
func (w *writer) ready() error {
	w.mu.Lock()
	if w.broken != nil && w.syncing == nil {
		w.rebuild()
	}
	broken, size := w.broken, w.log.size
	w.mu.Unlock()
	if broken != nil {
		return unavailable(broken)
	}
	if size >= int64(w.maxHeld) {
		return w.checkpoint()
	}
	return nil
}

// checkpoint makes every batch durable, then commits the open
// transaction to the file, with the log position it holds, and empties
// the log. If the commit fails, the batches stay in the log and in a
// rebuilt transaction.
func (w *writer) checkpoint() error {
	w.flush()
	w.mu.Lock()
	defer w.mu.Unlock()
	w.timer.Stop()
	if w.tx == nil {
		return nil
	}
	err := w.tx.Bucket(bucketMeta).Put(logKey, binary.BigEndian.AppendUint64(nil, w.pos))
	if f := w.checkpointFault.Load(); err == nil && f != nil {
		err = (*f)()
	}
	if err == nil {
		err = w.tx.Commit()
	} else {
		_ = w.tx.Rollback()
	}
	w.tx = nil
	w.retrying = err != nil
	if err != nil {
		err = unavailable(err)
		w.failedCheckpoint.Store(&failure{err: err})
		w.rebuild()
		w.timer.Reset(w.every)
		return err
	}
	w.checkpointed = w.pos
	w.failedCheckpoint.Store(nil) // the file takes checkpoints again
	// A log not emptied keeps frames the file holds now: Open skips them.
	_ = w.log.reset()
	return nil
}
