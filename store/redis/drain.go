package redis

import (
	"context"
	"fmt"
	"strconv"

	"github.com/klaxonhq/klaxon"
	"github.com/redis/go-redis/v9"
)

// An incident of a storm holds 100,000 alerts, and its close takes each
// out of the alert index. In the commit script, that held the server,
// and every claim and page of the escalation engine behind it, for 170
// ms: so commit.lua keeps the unindexing of an incident of more than
// unindexChunk alerts owed (T:ux), and drain.lua makes it, a script call
// of unindexChunk alerts at a time, other clients' commands going
// between them. The commit's caller drains before Commit returns; Unindex
// drains what a process stopped or a failure left owed.

// unindexChunk is how many alerts a call of drain.lua takes out of the
// index. It is commit.lua's bound too.
const unindexChunk = 1000

// drain calls drain.lua until none of the alerts of the incident at key,
// in the shard of tag, is owed to leave the index.
func (s *Store) drain(ctx context.Context, tag, key string) error {
	prefix := s.prefix // the script deletes the entries outside the shard
	if s.cluster() {
		prefix = "" // on other nodes: dropEntries does
	}
	keys := []string{unindexKey(tag), alertsKey(tag), key}
	for {
		reply, err := drainScript.Run(ctx, s.rdb, keys, tag, strconv.Itoa(unindexChunk), prefix).Slice()
		if err != nil {
			return fmt.Errorf("unindex the alerts of %s: %w", key, classify(err))
		}
		s.dropEntries(ctx, replyList(reply, 1))
		if more, _ := reply[0].(int64); more == 0 {
			return nil
		}
	}
}

// Unindex takes out of the alert index the alerts of the closed incidents
// whose unindexing a commit left owed: a process stopped, or a call that
// failed, before the commit's caller had made it. Ingest's sweep calls it
// on every replica; two that drain the same incident at once do the same
// work twice, harmlessly.
func (s *Store) Unindex(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("unindex: %w", err)
	}
	cmds, err := s.pipelined(ctx, func(p redis.Pipeliner) {
		for _, tag := range s.tags {
			p.HKeys(ctx, unindexKey(tag))
		}
	})
	if err != nil {
		return fmt.Errorf("read the unindexing owed: %w", classify(err))
	}
	for i, cmd := range cmds {
		keys, err := cmd.(*redis.StringSliceCmd).Result()
		if err != nil {
			continue // redis.Nil: none owed
		}
		for _, key := range keys {
			if err := s.drain(ctx, s.tags[i], key); err != nil {
				return err
			}
		}
	}
	return nil
}

var _ interface {
	klaxon.Store
	Unindex(context.Context) error
} = (*Store)(nil)
