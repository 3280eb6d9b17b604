package redis

import (
	"context"
	"crypto/rand"
	"fmt"
	"strconv"
	"time"
)

// FirstTime records key until now+ttl and reports whether it was not
// already recorded: a callback (a Twilio message or key press) acts once,
// however often it is delivered again, whichever replica it reaches. Each
// call records a nonce of its own (first.lua), so that a call that
// go-redis sends again after its reply was lost still hears that it
// recorded the callback, where a SET NX sent again answered that the key
// was taken, and the callback (an SMS ack) was never acted on.
func (s *Store) FirstTime(ctx context.Context, key string, now time.Time, ttl time.Duration) (bool, error) {
	until := strconv.FormatInt(now.Add(ttl).UnixMilli(), 10)
	n, err := firstScript.Run(ctx, s.urgent, []string{s.prefix + ":cb:" + key}, rand.Text(), until).Int()
	if err != nil {
		return false, fmt.Errorf("record callback: %w", classify(err))
	}
	return n == 1, nil
}

// Remembered reports whether key is recorded (FirstTime) and its record
// has not ended; Redis ends it at its own time. It reads through the
// connections of ingest, not the engine's: the console asks it of each
// request.
func (s *Store) Remembered(ctx context.Context, key string, _ time.Time) (bool, error) {
	n, err := s.rdb.Exists(ctx, s.prefix+":cb:"+key).Result()
	if err != nil {
		return false, fmt.Errorf("read callback: %w", classify(err))
	}
	return n == 1, nil
}
