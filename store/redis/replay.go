package redis

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// FirstTime records key until now+ttl and reports whether it was not
// already recorded: a callback (a Twilio message or key press) acts once,
// however often it is delivered again, whichever replica it reaches.
func (s *Store) FirstTime(ctx context.Context, key string, now time.Time, ttl time.Duration) (bool, error) {
	err := s.urgent.SetArgs(ctx, s.prefix+":cb:"+key, "1", redis.SetArgs{Mode: "NX", ExpireAt: now.Add(ttl)}).Err()
	switch {
	case errors.Is(err, redis.Nil):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("record callback: %w", classify(err))
	}
	return true, nil
}
