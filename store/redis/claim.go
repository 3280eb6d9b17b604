package redis

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/klaxonhq/klaxon"
)

// ready is a timer that a shard's scan found ready to claim.
type ready struct {
	shard      int
	incident   string
	due, ready int64 // µs
}

// Claim leases up to limit timers that are due at now and not leased, in
// order of due time over all shards, until now+lease. next is the earliest
// time a later Claim could return a timer other than those returned now:
// a due time or the end of a lease, zero when there is none. Times are the
// caller's, never Redis's clock, rounded to microseconds: now down, due
// times and lease ends up.
//
// Claim is two round trips. scan.lua finds, in each shard, up to limit
// ready timers and the earliest time another one will be ready, writing
// nothing. Claim merges them and keeps the limit earliest;
// lease.lua then leases those, in their shards, that no one set again,
// cancelled or leased in between; one that was is left out. A poll when
// nothing is due is the first pipeline only. Claims go through the
// escalation engine's own connections, not behind ingest's.
func (s *Store) Claim(ctx context.Context, now time.Time, lease time.Duration, limit int) (due []klaxon.Timer, next time.Time, err error) {
	return s.claim(ctx, now, lease, limit, nil)
}

// ClaimGroups is Claim over the shards of groups alone (see
// klaxon.GroupClaimer): the escalation engine's look for the timers of
// the incidents it was told of, in a storm that tells it of many, reads
// one shard each time and not all of them.
func (s *Store) ClaimGroups(ctx context.Context, now time.Time, lease time.Duration, limit int, groups []string) (due []klaxon.Timer, next time.Time, err error) {
	shards := make([]int, 0, len(groups))
	for _, g := range groups {
		if n := s.shard(g); !slices.Contains(shards, n) {
			shards = append(shards, n)
		}
	}
	if len(shards) == 0 {
		return nil, time.Time{}, nil
	}
	return s.claim(ctx, now, lease, limit, shards)
}

// claim is Claim over shards, nil for all.
func (s *Store) claim(ctx context.Context, now time.Time, lease time.Duration, limit int, shards []int) (due []klaxon.Timer, next time.Time, err error) {
	if err := ctx.Err(); err != nil {
		return nil, time.Time{}, fmt.Errorf("claim timers: %w", err)
	}
	if limit < 1 || lease <= 0 || !inRange(now) || !inRange(now.Add(lease)) {
		return nil, time.Time{}, fmt.Errorf("claim timers: max %d, lease %s, now %s: %w", limit, lease, now, klaxon.ErrInvalid)
	}
	at, until := floorMicro(now), ceilMicro(now.Add(lease))
	found, nextAt, err := s.scan(ctx, at, limit, shards)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("claim timers: %w", classify(err))
	}
	slices.SortFunc(found, func(a, b ready) int {
		return cmp.Or(cmp.Compare(a.due, b.due), cmp.Compare(a.incident, b.incident))
	})
	if len(found) > limit {
		// Ready but not taken now: a later Claim can take them at once.
		for _, r := range found[limit:] {
			if nextAt == 0 || r.ready < nextAt {
				nextAt = r.ready
			}
		}
		found = found[:limit]
	}
	if nextAt != 0 {
		next = time.UnixMicro(nextAt).UTC()
	}
	if len(found) == 0 {
		return nil, next, nil
	}
	due, err = s.lease(ctx, found, at, until)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("claim timers: %w", classify(err))
	}
	return due, next, nil
}

// scan runs scan.lua over shards (nil: every shard) and returns the
// ready timers of all and the earliest time another timer is ready, 0 if
// none is. A cluster runs it per shard, pipelined: a script reaches one
// slot. A single server runs it once for all shards.
func (s *Store) scan(ctx context.Context, at int64, limit int, shards []int) (found []ready, next int64, err error) {
	if shards == nil {
		shards = make([]int, len(s.tags))
		for n := range shards {
			shards[n] = n
		}
	}
	var groups [][]int // the shards of each call
	if s.cluster() {
		for _, n := range shards {
			groups = append(groups, []int{n})
		}
	} else {
		groups = [][]int{shards}
	}
	calls := make([]call, len(groups))
	for i, shards := range groups {
		keys := make([]string, 0, 2*len(shards))
		for _, n := range shards {
			keys = append(keys, queueKey(s.tags[n]), leasesKey(s.tags[n]))
		}
		calls[i] = call{keys: keys, args: []any{at, limit}}
	}
	cmds, err := s.evalUrgent(ctx, scanScript, calls)
	if err != nil {
		return nil, 0, err
	}
	for i, cmd := range cmds {
		reply, err := cmd.Slice()
		if err != nil || len(reply) < 2 || (len(reply)-2)%4 != 0 {
			return nil, 0, fmt.Errorf("scan shards: unexpected reply %v", reply)
		}
		if has, _ := reply[0].(int64); has == 1 {
			if at, _ := reply[1].(int64); next == 0 || at < next {
				next = at
			}
		}
		for j := 2; j < len(reply); j += 4 {
			k, _ := reply[j].(int64)
			if k < 1 || int(k) > len(groups[i]) {
				return nil, 0, fmt.Errorf("scan shards: unexpected shard %d", k)
			}
			r := ready{shard: groups[i][k-1]}
			r.incident, _ = reply[j+1].(string)
			r.due, _ = reply[j+2].(int64)
			r.ready, _ = reply[j+3].(int64)
			found = append(found, r)
		}
	}
	return found, next, nil
}

// lease runs lease.lua on the shards of found, in order of due time, and
// returns the timers it leased in that order.
func (s *Store) lease(ctx context.Context, found []ready, at, until int64) ([]klaxon.Timer, error) {
	token := rand.Text()
	byShard := map[int]int{} // shard → index in calls
	var calls []call
	for _, r := range found {
		i, ok := byShard[r.shard]
		if !ok {
			tag := s.tags[r.shard]
			i = len(calls)
			byShard[r.shard] = i
			calls = append(calls, call{keys: []string{queueKey(tag), timersKey(tag), leasesKey(tag)}, args: []any{at, until, token}})
		}
		calls[i].args = append(calls[i].args, r.incident, strconv.FormatInt(r.due, 10))
	}
	cmds, err := s.evalUrgent(ctx, leaseScript, calls)
	if err != nil {
		return nil, err
	}
	leased := map[string]klaxon.Timer{}
	for _, cmd := range cmds {
		bodies, err := cmd.StringSlice()
		if err != nil {
			return nil, err
		}
		for _, b := range bodies {
			var t klaxon.Timer
			if err := json.Unmarshal([]byte(b), &t); err != nil {
				return nil, fmt.Errorf("decode timer: %w", err)
			}
			t.Claim = token
			leased[t.Incident] = t
		}
	}
	due := make([]klaxon.Timer, 0, len(leased))
	for _, r := range found {
		if t, ok := leased[r.incident]; ok {
			due = append(due, t)
		}
	}
	return due, nil
}

// Renew extends until now+lease the claims on timers that are still held
// with their tokens, one renew.lua per shard, pipelined, and returns the
// incidents of the others.
func (s *Store) Renew(ctx context.Context, now time.Time, lease time.Duration, timers []klaxon.Timer) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("renew claims: %w", err)
	}
	if lease <= 0 || !inRange(now) || !inRange(now.Add(lease)) {
		return nil, fmt.Errorf("renew claims: lease %s, now %s: %w", lease, now, klaxon.ErrInvalid)
	}
	if len(timers) == 0 {
		return nil, nil
	}
	until := ceilMicro(now.Add(lease))
	byShard := map[int]int{} // shard → index in calls
	var calls []call
	for _, t := range timers {
		n := s.shard(t.Group)
		i, ok := byShard[n]
		if !ok {
			i = len(calls)
			byShard[n] = i
			calls = append(calls, call{keys: []string{leasesKey(s.tags[n])}, args: []any{until}})
		}
		calls[i].args = append(calls[i].args, t.Incident, t.Claim)
	}
	cmds, err := s.evalUrgent(ctx, renewScript, calls)
	if err != nil {
		return nil, fmt.Errorf("renew claims: %w", classify(err))
	}
	var lost []string
	for _, cmd := range cmds {
		ids, err := cmd.StringSlice()
		if err != nil {
			return nil, fmt.Errorf("renew claims: %w", classify(err))
		}
		lost = append(lost, ids...)
	}
	return lost, nil
}
