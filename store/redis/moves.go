package redis

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/klaxonhq/klaxon"
	"github.com/redis/go-redis/v9"
)

// moveMember is m's member in its group's shard's owed moves (movesKey,
// a sorted set by the time of the move, µs since 1970): that time and a
// colon, its group, alert and group from, each after its length and a
// colon, then its incident to. commit.lua builds the same.
func moveMember(m klaxon.Move) string {
	return strconv.FormatInt(m.At.UnixMicro(), 10) + ":" + strconv.Itoa(len(m.Group)) + ":" + m.Group +
		strconv.Itoa(len(m.Alert)) + ":" + m.Alert + strconv.Itoa(len(m.From)) + ":" + m.From + m.To
}

// parseMoveMember is moveMember's inverse; false for a member it did not
// make.
func parseMoveMember(f string) (m klaxon.Move, ok bool) {
	i := strings.IndexByte(f, ':')
	if i < 0 {
		return m, false
	}
	us, err := strconv.ParseInt(f[:i], 10, 64)
	if err != nil {
		return m, false
	}
	m.At, f = time.UnixMicro(us).UTC(), f[i+1:]
	for _, p := range []*string{&m.Group, &m.Alert, &m.From} {
		i := strings.IndexByte(f, ':')
		if i < 0 {
			return m, false
		}
		n, err := strconv.Atoi(f[:i])
		if err != nil || n < 0 || n > len(f)-i-1 {
			return m, false
		}
		*p = f[i+1 : i+1+n]
		f = f[i+1+n:]
	}
	m.To = f
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
	members := make([]redis.Z, 0, len(moves))
	for _, m := range moves {
		members = append(members, redis.Z{Score: float64(m.At.UnixMicro()), Member: moveMember(m)})
	}
	if err := rdb.ZAdd(ctx, movesKey(s.tag(group)), members...).Err(); err != nil {
		return fmt.Errorf("keep the moves of %d alerts: %w", len(moves), err)
	}
	return nil
}

// OwedMoves returns up to about limit moves made before before that
// nobody settled: the oldest of every shard, in one pipeline. A member
// that is not a move's is skipped (nothing but this store writes them).
func (s *Store) OwedMoves(ctx context.Context, before time.Time, limit int) ([]klaxon.Move, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("read owed moves: %w", err)
	}
	end := "(" + strconv.FormatInt(before.UnixMicro(), 10)
	cmds, err := s.pipelined(ctx, func(p redis.Pipeliner) {
		for _, tag := range s.tags {
			p.ZRangeByScoreWithScores(ctx, movesKey(tag), &redis.ZRangeBy{Min: "-inf", Max: end, Count: int64(limit)})
		}
	})
	if err != nil {
		return nil, fmt.Errorf("read owed moves: %w", classify(err))
	}
	var out []klaxon.Move
	for _, cmd := range cmds {
		for _, z := range cmd.(*redis.ZSliceCmd).Val() {
			member, _ := z.Member.(string)
			m, ok := parseMoveMember(member)
			if !ok {
				continue
			}
			out = append(out, m)
			if len(out) == limit {
				return out, nil
			}
		}
	}
	return out, nil
}

// SettleMoves forgets moves: one ZREM a shard, in one pipeline.
func (s *Store) SettleMoves(ctx context.Context, moves []klaxon.Move) error {
	if len(moves) == 0 {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("settle moves: %w", err)
	}
	byShard := map[string][]any{}
	for _, m := range moves {
		key := movesKey(s.tag(m.Group))
		byShard[key] = append(byShard[key], moveMember(m))
	}
	_, err := s.pipelined(ctx, func(p redis.Pipeliner) {
		for key, members := range byShard {
			p.ZRem(ctx, key, members...)
		}
	})
	if err != nil {
		return fmt.Errorf("settle moves: %w", classify(err))
	}
	return nil
}
