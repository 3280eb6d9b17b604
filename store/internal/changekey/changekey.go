// Package changekey is how both stores order change events: a key that
// sorts, as bytes, by the change's time and then by the put that stored
// it, so that a range of keys is a window of time and the first keys are
// the oldest changes.
//
// A key is the time, 12 bytes (Time), then the put's sequence number as
// 20 decimal digits. The Redis store's members are a key followed by the
// change's JSON; the embedded store's keys are the integration, a zero
// byte, and a key.
package changekey

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"time"
)

// TimeLen and Len are the lengths of a time and of a whole key.
const (
	TimeLen = 12
	Len     = TimeLen + 20
)

// Time encodes t in 12 bytes that sort as t does: its seconds since 1970
// as a big-endian int64 with the sign bit flipped, then its nanoseconds
// as a big-endian uint32.
func Time(t time.Time) []byte {
	b := make([]byte, TimeLen)
	binary.BigEndian.PutUint64(b, uint64(t.Unix())^(1<<63))
	binary.BigEndian.PutUint32(b[8:], uint32(t.Nanosecond()))
	return b
}

// Key is the key of the change at t stored by put number seq.
func Key(t time.Time, seq uint64) []byte {
	return fmt.Appendf(Time(t), "%020d", seq)
}

// Parse reads a key, the first Len bytes of k, back into its time (in
// UTC) and sequence number.
func Parse(k []byte) (time.Time, uint64, error) {
	if len(k) < Len {
		return time.Time{}, 0, fmt.Errorf("change key of %d bytes: want %d", len(k), Len)
	}
	sec := int64(binary.BigEndian.Uint64(k) ^ (1 << 63))
	nsec := int64(binary.BigEndian.Uint32(k[8:]))
	seq, err := strconv.ParseUint(string(k[TimeLen:Len]), 10, 64)
	if err != nil {
		return time.Time{}, 0, fmt.Errorf("change key: sequence %q: %w", k[TimeLen:Len], err)
	}
	return time.Unix(sec, nsec).UTC(), seq, nil
}
