package embedded

import (
	"context"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/klaxonhq/klaxon"
)

// bucketMoves: moveKey(m) → empty, for each move a commit told of and
// nobody settled (klaxon.Store.OwedMoves), in the order of their times.
var bucketMoves = []byte("moves")

// moveKey is the key of m in bucketMoves: its time (µs since 1970, 8
// bytes), then its group, alert, group from and incident to, each but
// the last after its length.
func moveKey(m klaxon.Move) []byte {
	k := make([]byte, 8, 8+3*binary.MaxVarintLen64+len(m.Group)+len(m.Alert)+len(m.From)+len(m.To))
	binary.BigEndian.PutUint64(k, uint64(m.At.UnixMicro()))
	for _, f := range []string{m.Group, m.Alert, m.From} {
		k = binary.AppendUvarint(k, uint64(len(f)))
		k = append(k, f...)
	}
	return append(k, m.To...)
}

// parseMoveKey is moveKey's inverse; false for a key it did not make.
func parseMoveKey(k []byte) (m klaxon.Move, ok bool) {
	if len(k) < 8 {
		return m, false
	}
	m.At = time.UnixMicro(int64(binary.BigEndian.Uint64(k))).UTC()
	k = k[8:]
	for _, f := range []*string{&m.Group, &m.Alert, &m.From} {
		n, w := binary.Uvarint(k)
		if w <= 0 || n > uint64(len(k)-w) {
			return m, false
		}
		*f = string(k[w : w+int(n)])
		k = k[w+int(n):]
	}
	m.To = string(k)
	return m, true
}

// owe keeps moves as owed, in the transaction of the commit that made
// them.
func owe(tx *txn, moves []klaxon.Move) error {
	if len(moves) == 0 {
		return nil
	}
	b := tx.Bucket(bucketMoves)
	for _, m := range moves {
		if err := b.Put(moveKey(m), nil); err != nil {
			return fmt.Errorf("keep the move of alert %s: %w", m.Alert, err)
		}
	}
	return nil
}

// OwedMoves returns up to limit moves made before before that nobody
// settled, oldest first. A key that is not a move's is skipped (and
// logged by nobody: it cannot be written by this store).
func (s *Store) OwedMoves(ctx context.Context, before time.Time, limit int) ([]klaxon.Move, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("read owed moves: %w", err)
	}
	var out []klaxon.Move
	end := uint64(before.UnixMicro())
	err := s.view(func(tx *txn) error {
		c := tx.Bucket(bucketMoves).Cursor()
		for k, _ := c.First(); k != nil && len(out) < limit; k, _ = c.Next() {
			if len(k) >= 8 && binary.BigEndian.Uint64(k) >= end {
				break
			}
			if m, ok := parseMoveKey(k); ok {
				out = append(out, m)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read owed moves: %w", err)
	}
	return out, nil
}

// SettleMoves forgets moves.
func (s *Store) SettleMoves(ctx context.Context, moves []klaxon.Move) error {
	if len(moves) == 0 {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("settle moves: %w", err)
	}
	err := s.update(ctx, false, func(tx *txn) error {
		b := tx.Bucket(bucketMoves)
		for _, m := range moves {
			if err := b.Delete(moveKey(m)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("settle moves: %w", err)
	}
	return nil
}
