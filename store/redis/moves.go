package redis

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/klaxonhq/klaxon"
	"github.com/redis/go-redis/v9"
)

// moveField is the field of m in its group's shard's owed moves hash
// (movesKey): its group, alert and group from, each but the last after
// its length and a colon. commit.lua builds the same.
func moveField(m klaxon.Move) string {
	return strconv.Itoa(len(m.Group)) + ":" + m.Group + strconv.Itoa(len(m.Alert)) + ":" + m.Alert + m.From
}

// parseMoveField is moveField's inverse; false for a field it did not
// make.
func parseMoveField(f string) (m klaxon.Move, ok bool) {
	field := func() (string, bool) {
		i := strings.IndexByte(f, ':')
		if i < 0 {
			return "", false
		}
		n, err := strconv.Atoi(f[:i])
		if err != nil || n < 0 || n > len(f)-i-1 {
			return "", false
		}
		s := f[i+1 : i+1+n]
		f = f[i+1+n:]
		return s, true
	}
	if m.Group, ok = field(); !ok {
		return m, false
	}
	if m.Alert, ok = field(); !ok {
		return m, false
	}
	m.From = f
	return m, true
}

// oweAhead keeps moves as owed, as a cluster found them writing its
// entries ahead of the commit (see writeAhead): before the commit, since
// the attempts after this one find the entries written and tell of no
// move. Should the commit never land, the moves are owed all the same:
// the entries name the group they moved to.
func (s *Store) oweAhead(ctx context.Context, rdb redis.UniversalClient, group string, moves []klaxon.Move) error {
	if len(moves) == 0 {
		return nil
	}
	values := make([]any, 0, 2*len(moves))
	for _, m := range moves {
		values = append(values, moveField(m), m.To)
	}
	if err := rdb.HSet(ctx, movesKey(s.tag(group)), values...).Err(); err != nil {
		return fmt.Errorf("keep the moves of %d alerts: %w", len(moves), err)
	}
	return nil
}

// OwedMoves returns up to about limit moves that commits told of and
// nobody settled: a scan of every shard's hash, in one pipeline.
func (s *Store) OwedMoves(ctx context.Context, limit int) ([]klaxon.Move, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("read owed moves: %w", err)
	}
	cmds, err := s.pipelined(ctx, func(p redis.Pipeliner) {
		for _, tag := range s.tags {
			p.HScan(ctx, movesKey(tag), 0, "", int64(limit))
		}
	})
	if err != nil {
		return nil, fmt.Errorf("read owed moves: %w", classify(err))
	}
	var out []klaxon.Move
	for _, cmd := range cmds {
		kv, _ := cmd.(*redis.ScanCmd).Val()
		for i := 0; i+1 < len(kv) && len(out) < limit; i += 2 {
			m, ok := parseMoveField(kv[i])
			if !ok {
				return nil, fmt.Errorf("read owed moves: field %q is not one of a move", kv[i])
			}
			m.To = kv[i+1]
			out = append(out, m)
		}
	}
	return out, nil
}

// SettleMoves forgets moves, each only while it is kept as given: one
// run of settle.lua a shard.
func (s *Store) SettleMoves(ctx context.Context, moves []klaxon.Move) error {
	if len(moves) == 0 {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("settle moves: %w", err)
	}
	byShard := map[string]int{}
	var calls []call
	for _, m := range moves {
		key := movesKey(s.tag(m.Group))
		i, ok := byShard[key]
		if !ok {
			i = len(calls)
			byShard[key] = i
			calls = append(calls, call{keys: []string{key}})
		}
		calls[i].args = append(calls[i].args, moveField(m), m.To)
	}
	if _, err := s.evalAll(ctx, settleScript, calls); err != nil {
		return fmt.Errorf("settle moves: %w", classify(err))
	}
	return nil
}
