package embedded

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
)

// The log makes a batch of writes durable with one append and one
// fdatasync, where a bbolt commit writes every page the batch touched
// and syncs twice. The writer holds the batches' writes in memory (see
// layer) and commits them to the file now and then (a checkpoint): a
// storm's many batches share the pages of one commit. The log holds what
// the file does not have yet; Open replays it, so a batch acknowledged
// before a crash is in the file after it.
//
// The log is two files next to the store's, path + "-wal" and path +
// "-wal2": a checkpoint commits the batches of one while the next
// batches go to the other. Each batch is one frame:
//
//	payload length  4 bytes, big-endian
//	checksum        4 bytes, CRC-32C of the position and the payload
//	position        8 bytes, big-endian: one more than the frame before
//	payload         the batch's operations (record)
//
// A frame cut short by a crash fails its checksum: the log ends at the
// last whole frame. A checkpoint stores the position it holds in the
// file (meta "log"), then empties its log file. The file is written ahead in
// zeros and keeps its length (see reset): an append overwrites blocks
// the file has, and its fdatasync has no new length to record.

const frameHeader = 16

var (
	castagnoli = crc32.MakeTable(crc32.Castagnoli)
	// logKey is where the meta bucket keeps the last log position the
	// file holds.
	logKey = []byte("log")
)

// The operations of a record.
const (
	opPut byte = 1 + iota
	opDelete
	opSequence
	opCreate
)

// record is a batch's operations, encoded as the log keeps them: an
// operation byte, the bucket's name, then a key and value (put), a key
// (delete), a sequence number (sequence) or nothing (create); names,
// keys and values each a uvarint length and the bytes.
type record struct {
	buf []byte
}

func (r *record) put(bucket, k, v []byte) {
	if r == nil {
		return
	}
	r.buf = appendBytes(appendBytes(appendBytes(append(r.buf, opPut), bucket), k), v)
}

func (r *record) delete(bucket, k []byte) {
	if r == nil {
		return
	}
	r.buf = appendBytes(appendBytes(append(r.buf, opDelete), bucket), k)
}

func (r *record) sequence(bucket []byte, n uint64) {
	if r == nil {
		return
	}
	r.buf = binary.AppendUvarint(appendBytes(append(r.buf, opSequence), bucket), n)
}

func (r *record) create(bucket []byte) {
	if r == nil {
		return
	}
	r.buf = appendBytes(append(r.buf, opCreate), bucket)
}

// len is the size of the operations recorded so far.
func (r *record) len() int { return len(r.buf) }

func appendBytes(b, v []byte) []byte {
	return append(binary.AppendUvarint(b, uint64(len(v))), v...)
}

// errRecord reports a record that does not decode.
var errRecord = errors.New("malformed log record")

// replayRecord applies a record's operations to tx. The values it puts
// are slices of payload, which must not change until tx ends.
func replayRecord(tx *txn, payload []byte) error {
	return eachOp(payload, func(o recordOp) error {
		if o.kind == opCreate {
			_, err := tx.CreateBucketIfNotExists(o.bucket)
			return err
		}
		b := tx.Bucket(o.bucket)
		if b == nil {
			return fmt.Errorf("%w: no bucket %q", errRecord, o.bucket)
		}
		var err error
		switch o.kind {
		case opPut:
			err = b.Put(o.key, o.value)
		case opDelete:
			err = b.Delete(o.key)
		case opSequence:
			err = b.SetSequence(o.n)
		}
		if err != nil {
			return fmt.Errorf("replay into bucket %s: %w", o.bucket, err)
		}
		return nil
	})
}

// recordOp is an operation of a record: of kind on bucket, with a key and a
// value (put), a key (delete) or a sequence n. Its bytes are the
// record's.
type recordOp struct {
	kind               byte
	bucket, key, value []byte
	n                  uint64
}

// eachOp decodes a record's operations and calls fn with each, in order.
func eachOp(payload []byte, fn func(o recordOp) error) error {
	for p := payload; len(p) > 0; {
		o := recordOp{kind: p[0]}
		var ok bool
		if o.bucket, p, ok = cutBytes(p[1:]); !ok {
			return errRecord
		}
		switch o.kind {
		case opCreate:
		case opPut:
			if o.key, p, ok = cutBytes(p); !ok {
				return errRecord
			}
			if o.value, p, ok = cutBytes(p); !ok {
				return errRecord
			}
		case opDelete:
			if o.key, p, ok = cutBytes(p); !ok {
				return errRecord
			}
		case opSequence:
			n, size := binary.Uvarint(p)
			if size <= 0 {
				return errRecord
			}
			o.n, p = n, p[size:]
		default:
			return fmt.Errorf("%w: operation %d", errRecord, o.kind)
		}
		if err := fn(o); err != nil {
			return err
		}
	}
	return nil
}

// cutBytes cuts a length-prefixed byte string off the front of p.
func cutBytes(p []byte) (v, rest []byte, ok bool) {
	n, size := binary.Uvarint(p)
	if size <= 0 || n > uint64(len(p)-size) {
		return nil, nil, false
	}
	end := size + int(n)
	return p[size:end:end], p[end:], true
}

// replayLog applies to tx the records of the whole frames of data past
// position after, which must follow it one by one, and returns the
// position of the last and how many bytes the whole frames take. A
// frame at or before after is one the file holds already (a log not
// emptied at a checkpoint). The values it puts are slices of data, which
// must not change until tx ends.
func replayLog(tx *txn, data []byte, after uint64) (last uint64, n int, err error) {
	last = after
	n, err = readFrames(data, func(pos uint64, payload []byte) error {
		switch {
		case pos <= after:
			return nil
		case pos != last+1:
			return fmt.Errorf("the log skips from batch %d to %d after the file's %d: restore a backup of the file and its log", last, pos, after)
		}
		if err := replayRecord(tx, payload); err != nil {
			return fmt.Errorf("log batch %d: %w", pos, err)
		}
		last = pos
		return nil
	})
	return last, n, err
}

// appendFrame appends the frame of payload at position pos to b.
func appendFrame(b []byte, pos uint64, payload []byte) []byte {
	start := len(b)
	b = binary.BigEndian.AppendUint32(b, uint32(len(payload)))
	b = append(b, 0, 0, 0, 0)
	b = binary.BigEndian.AppendUint64(b, pos)
	b = append(b, payload...)
	sum := crc32.Checksum(b[start+8:], castagnoli)
	binary.BigEndian.PutUint32(b[start+4:], sum)
	return b
}

// readFrames calls fn with each whole frame of data, in order, while
// their positions follow one another, and returns how many bytes they
// take: what follows is a frame cut short, or nothing.
func readFrames(data []byte, fn func(pos uint64, payload []byte) error) (int, error) {
	off := 0
	var last uint64
	for len(data)-off >= frameHeader {
		n := uint64(binary.BigEndian.Uint32(data[off:]))
		if n > uint64(len(data)-off-frameHeader) {
			break
		}
		end := off + frameHeader + int(n)
		if crc32.Checksum(data[off+8:end], castagnoli) != binary.BigEndian.Uint32(data[off+4:]) {
			break
		}
		pos := binary.BigEndian.Uint64(data[off+8:])
		if off > 0 && pos != last+1 {
			break
		}
		if err := fn(pos, data[off+frameHeader:end:end]); err != nil {
			return off, err
		}
		last, off = pos, end
	}
	return off, nil
}

// laterFrame returns the position of a whole frame in rest, what follows
// a log's last whole frame, that comes after a frame of the batch after
// last (at last+2 up to last+maxDamaged+1); false if none does. A crash
// can only cut short a log's last frame: each is durable before the next
// is written. So such a frame means that frames in the middle of the log
// were damaged, and those after them, answered, would be lost if the log
// ended there. Frames of earlier checkpoints (see reset) have positions
// before last.
func laterFrame(rest []byte, last uint64) (uint64, bool) {
	for i := 0; i+frameHeader <= len(rest); i++ {
		pos := binary.BigEndian.Uint64(rest[i+8:])
		if pos < last+2 || pos > last+maxDamaged+1 {
			continue
		}
		n := uint64(binary.BigEndian.Uint32(rest[i:]))
		if n > uint64(len(rest)-i-frameHeader) {
			continue
		}
		end := i + frameHeader + int(n)
		if crc32.Checksum(rest[i+8:end], castagnoli) == binary.BigEndian.Uint32(rest[i+4:]) {
			return pos, true
		}
	}
	return 0, false
}

// maxDamaged bounds the run of damaged frames laterFrame looks past.
const maxDamaged = 1024

// torn reports whether rest, what follows the log's last whole frame,
// begins with the header of the frame after it, at position last+1: a
// frame cut short or damaged. Anything else there is zeros, or frames
// of an earlier checkpoint (see reset).
func torn(rest []byte, last uint64) bool {
	return len(rest) >= frameHeader && binary.BigEndian.Uint64(rest[8:]) == last+1
}

// wal is the log file. The syncer writes a frame to it while one is on
// its way (write, see writer.syncer), and grows size once it is durable
// (appended), with the writer's mu held; all else is the writer's
// goroutine's, while the syncer is idle.
type wal struct {
	f *os.File
	// size is what the log holds durably; a frame that failed is cut
	// off, durably, before the next is written.
	size  int64
	frame []byte
	// dirty: a frame that failed may still be in the file past size,
	// where a crash would leave it for Open to replay.
	dirty bool
	// allocated is how far the file is written: an append within it
	// overwrites blocks the file has, and its fdatasync has no length
	// to record.
	allocated int64
	// syncFault, for tests, runs before the next fdatasync of a frame,
	// on the syncer's goroutine, and fails it with its error.
	syncFault func() error
}

// logAllocate is how much of the log file is written ahead, in zeros:
// appends between checkpoints overwrite blocks the file has, and an
// fdatasync that need not journal a new length costs less (on ext4 here
// about 170 µs against 240: BenchmarkLogAppend). A log that outgrows it
// keeps its length after a checkpoint (see reset), so only its first
// cycles past it append new blocks. It is not checkpointBytes: every
// store's log file, a test's too, takes this much of the disk.
const logAllocate = 8 << 20

func openLog(path string) (*wal, []byte, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, nil, fmt.Errorf("open log: %w", err)
	}
	data, err := io.ReadAll(f)
	if err != nil {
		_ = f.Close()
		return nil, nil, fmt.Errorf("read log: %w", err)
	}
	return &wal{f: f, allocated: int64(len(data))}, data, nil
}

// write writes the frame of payload at position pos at offset off, the
// log's end, and returns once it is durable; appended then makes it part
// of the log, or drop cuts it off after an error. It is the syncer's
// while a frame is on its way: it touches the file and frame, not size.
func (l *wal) write(pos uint64, payload []byte, off int64) error {
	l.frame = appendFrame(l.frame[:0], pos, payload)
	_, err := l.f.WriteAt(l.frame, off)
	if err == nil && l.syncFault != nil {
		err = l.syncFault()
	}
	if err == nil {
		err = fdatasync(l.f)
	}
	if cap(l.frame) > 1<<20 {
		l.frame = nil // a storm's big frame is not kept
	}
	if err != nil {
		return fmt.Errorf("append to log: %w", err)
	}
	return nil
}

// appended makes the frame of a payload of n bytes, durable at the log's
// end, part of the log.
func (l *wal) appended(n int) {
	l.size += int64(frameHeader + n)
	l.allocated = max(l.allocated, l.size)
}

// drop cuts off, durably, what a frame whose write failed may have left
// past size: a sender answered that its write failed must not find it
// after a crash. Should that fail, the next frame waits for clean.
func (l *wal) drop() {
	l.dirty = true
	_ = l.clean()
}

// clean cuts off, durably, what a failed append left past size.
func (l *wal) clean() error {
	if !l.dirty {
		return nil
	}
	if err := l.f.Truncate(l.size); err != nil {
		return err
	}
	l.allocated = l.size
	if err := fdatasync(l.f); err != nil {
		return err
	}
	l.dirty = false
	return nil
}

// read returns what the log holds durably.
func (l *wal) read() ([]byte, error) {
	data := make([]byte, l.size)
	if _, err := l.f.ReadAt(data, 0); err != nil {
		return nil, fmt.Errorf("read log: %w", err)
	}
	return data, nil
}

// reset empties the log, once the file holds what it held. The file
// keeps its length and the frames written in it: they are ones the file
// holds, and Open skips them; the next frame written ends the log at
// them, its position being past theirs. The first frame's header is
// zeroed, so that a log that holds no batch reads as empty.
func (l *wal) reset() error {
	l.size = 0
	if l.allocated < logAllocate {
		zeros := make([]byte, logAllocate-l.allocated)
		if _, err := l.f.WriteAt(zeros, l.allocated); err != nil {
			return fmt.Errorf("empty log: %w", err)
		}
		if err := fdatasync(l.f); err != nil {
			return fmt.Errorf("empty log: %w", err)
		}
		l.allocated = logAllocate
	}
	if _, err := l.f.WriteAt(make([]byte, frameHeader), 0); err != nil {
		return fmt.Errorf("empty log: %w", err)
	}
	return nil
}

func (l *wal) close() error { return l.f.Close() }
