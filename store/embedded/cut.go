package embedded

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"io/fs"
	"os"
)

// bbolt's file starts with two meta pages: each a page header of 16
// bytes, then its meta, in the machine's byte order: magic, version and
// page size (uint32 each), flags, the root bucket (16 bytes), the free
// list's page, the high-water mark of pages (pgid), the transaction ID,
// and a checksum (FNV-64a) of all before it.
const (
	boltPageHeader = 16
	boltMetaSize   = 64
	boltMagic      = 0xED0CDAED
	boltVersion    = 2
)

// cutShort reports a file that holds less than its last committed meta
// page says it has: a file cut short (a copy stopped halfway, a full
// disk). bbolt would map it and read past its end at open, as it
// rebuilds its free list (NoFreelistSync), and the process would die of
// a SIGBUS, which no recover catches. A file too short to read its meta,
// or whose metas are not bbolt's, is left to bbolt, which refuses it
// with an error.
func cutShort(path string) error {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	var best *boltMeta
	for off := int64(0); ; {
		m, ok := readBoltMeta(f, off)
		if ok && (best == nil || m.txid > best.txid) {
			best = &m
		}
		if off > 0 || !ok {
			break
		}
		off = int64(m.pageSize)
	}
	if best == nil {
		return nil
	}
	if need := int64(best.pgid) * int64(best.pageSize); st.Size() < need {
		return fmt.Errorf("the file is cut short: %d bytes, where its last commit holds %d: restore a backup of the file and its logs", st.Size(), need)
	}
	return nil
}

type boltMeta struct {
	pageSize   uint32
	pgid, txid uint64
}

// readBoltMeta reads the meta of the page at off; false if it is not a
// valid one.
func readBoltMeta(r io.ReaderAt, off int64) (boltMeta, bool) {
	b := make([]byte, boltMetaSize)
	if _, err := r.ReadAt(b, off+boltPageHeader); err != nil {
		return boltMeta{}, false
	}
	e := binary.NativeEndian
	h := fnv.New64a()
	h.Write(b[:56])
	if e.Uint32(b[0:]) != boltMagic || e.Uint32(b[4:]) != boltVersion || e.Uint64(b[56:]) != h.Sum64() {
		return boltMeta{}, false
	}
	m := boltMeta{pageSize: e.Uint32(b[8:]), pgid: e.Uint64(b[40:]), txid: e.Uint64(b[48:])}
	return m, m.pageSize > 0
}
