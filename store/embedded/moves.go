package embedded

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"

	"github.com/klaxonhq/klaxon"
)

// bucketMoves: moveKey(m) → m.To, for each move a commit told of and
// nobody settled (klaxon.Store.OwedMoves).
var bucketMoves = []byte("moves")

// moveKey is the key of m in bucketMoves: its group, alert and group
// from, each but the last after its length.
func moveKey(m klaxon.Move) []byte {
	k := make([]byte, 0, 2*binary.MaxVarintLen64+len(m.Group)+len(m.Alert)+len(m.From))
	k = binary.AppendUvarint(k, uint64(len(m.Group)))
	k = append(k, m.Group...)
	k = binary.AppendUvarint(k, uint64(len(m.Alert)))
	k = append(k, m.Alert...)
	return append(k, m.From...)
}

// parseMoveKey is moveKey's inverse; false for a key it did not make.
func parseMoveKey(k []byte) (m klaxon.Move, ok bool) {
	field := func() (string, bool) {
		n, w := binary.Uvarint(k)
		if w <= 0 || n > uint64(len(k)-w) {
			return "", false
		}
		s := string(k[w : w+int(n)])
		k = k[w+int(n):]
		return s, true
	}
	if m.Group, ok = field(); !ok {
		return m, false
	}
	if m.Alert, ok = field(); !ok {
		return m, false
	}
	m.From = string(k)
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
		if err := b.Put(moveKey(m), []byte(m.To)); err != nil {
			return fmt.Errorf("keep the move of alert %s: %w", m.Alert, err)
		}
	}
	return nil
}

// OwedMoves returns up to limit moves that commits told of and nobody
// settled.
func (s *Store) OwedMoves(ctx context.Context, limit int) ([]klaxon.Move, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("read owed moves: %w", err)
	}
	var out []klaxon.Move
	err := s.view(func(tx *txn) error {
		c := tx.Bucket(bucketMoves).Cursor()
		for k, v := c.First(); k != nil && len(out) < limit; k, v = c.Next() {
			m, ok := parseMoveKey(k)
			if !ok {
				return fmt.Errorf("move key %q: not one of a move", k)
			}
			m.To = string(v)
			out = append(out, m)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read owed moves: %w", err)
	}
	return out, nil
}

// SettleMoves forgets moves, each only while it is kept as given.
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
			k := moveKey(m)
			if v := b.Get(k); v == nil || !bytes.Equal(v, []byte(m.To)) {
				continue
			}
			if err := b.Delete(k); err != nil {
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
