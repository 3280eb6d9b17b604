package redis

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/store/internal/changekey"
)

// Change events: {P:ch:<integration>} is a sorted set of the
// integration's changes, each a member of score 0 that is its
// changekey.Key then its JSON, so that the set sorts by time and a window
// is a range of it by lex; {P:ch:<integration>}:n is the counter of its
// IDs, and {P:ch:<integration>}:d:<digest> the ID of a change put with
// that Digest, until its sender is answered 2xx (ForgetChange), for
// klaxon.ChangeRetryWindow at most. The two share the integration's hash tag, and one script writes
// them (change.lua). Both expire when their bound of age has passed
// since the last put: an integration that stops sending keeps nothing
// older.

//go:embed change.lua
var changeLua string

var changeScript = redis.NewScript(changeLua)

var _ klaxon.ChangeStore = (*Store)(nil)

func (s *Store) changesKey(integration string) string {
	return "{" + s.prefix + ":ch:" + integration + "}"
}

// PutChange stores c under a new ID, and drops its integration's changes
// older than b.Age before now and its oldest past b.Count.
func (s *Store) PutChange(ctx context.Context, c klaxon.Change, now time.Time, b klaxon.ChangeBounds) (klaxon.Change, error) {
	if c.Integration == "" || strings.ContainsRune(c.Integration, 0) {
		return c, fmt.Errorf("put change: integration %q: %w", c.Integration, klaxon.ErrInvalid)
	}
	b = b.WithDefaults()
	c.ID = ""
	v, err := klaxon.EncodeChange(c) // without the ID, which the key holds
	if err != nil {
		return c, fmt.Errorf("put change of %s: %w", c.Integration, err)
	}
	key := s.changesKey(c.Integration)
	keys := []string{key, key + ":n"}
	if c.Digest != "" {
		// A retry of a change stored whose sender was not answered
		// 2xx (a wait for replicas that failed, a hang-up): stored
		// once, on the master that holds the change.
		keys = append(keys, key+":d:"+c.Digest)
	}
	seq, err := changeScript.Run(ctx, s.rdb, keys,
		changekey.Time(c.At), v, changekey.Time(now.Add(-b.Age)), b.Count, b.Age.Milliseconds(), klaxon.ChangeRetryWindow.Milliseconds()).Int64()
	if err != nil {
		return c, fmt.Errorf("put change of %s: %w", c.Integration, classify(err))
	}
	c.ID = strconv.FormatInt(seq, 10)
	return c, nil
}

// ForgetChange forgets the digest of a change of integration once its
// sender was answered 2xx: the same change sent again after that is
// another (a second deploy of the same build).
func (s *Store) ForgetChange(ctx context.Context, integration, digest string) error {
	if err := s.rdb.Del(ctx, s.changesKey(integration)+":d:"+digest).Err(); err != nil {
		return fmt.Errorf("forget change digest of %s: %w", integration, classify(err))
	}
	return nil
}

// Changes lists up to limit changes of integration whose At is in
// [from, to], newest first.
func (s *Store) Changes(ctx context.Context, integration string, from, to time.Time, limit int) ([]klaxon.Change, error) {
	if limit <= 0 || to.Before(from) {
		return nil, nil
	}
	members, err := s.rdb.ZRevRangeByLex(ctx, s.changesKey(integration), &redis.ZRangeBy{
		Max:   "(" + string(changekey.Time(to.Add(1))),
		Min:   "[" + string(changekey.Time(from)),
		Count: int64(limit),
	}).Result()
	if err != nil {
		return nil, fmt.Errorf("list changes of %s: %w", integration, classify(err))
	}
	out := make([]klaxon.Change, 0, len(members))
	for _, m := range members {
		_, seq, err := changekey.Parse([]byte(m))
		if err != nil {
			return nil, fmt.Errorf("list changes of %s: %w", integration, err)
		}
		var c klaxon.Change
		if err := json.Unmarshal([]byte(m[changekey.Len:]), &c); err != nil {
			return nil, fmt.Errorf("list changes of %s: change %d: %w", integration, seq, err)
		}
		c.ID = strconv.FormatUint(seq, 10)
		out = append(out, c)
	}
	return out, nil
}
