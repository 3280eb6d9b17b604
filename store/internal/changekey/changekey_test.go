package changekey

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestKeysSort: keys sort as their times, then their sequence numbers,
// before 1970 and after, and read back as they were made.
func TestKeysSort(t *testing.T) {
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339Nano, s)
		require.NoError(t, err)
		return v
	}
	keys := []struct {
		t   time.Time
		seq uint64
	}{
		{at("0001-01-01T00:00:00Z"), 1},
		{at("1969-12-31T23:59:59.999999999Z"), 7},
		{at("1970-01-01T00:00:00Z"), 2},
		{at("2026-11-23T21:59:59.5Z"), 3},
		{at("2026-11-23T22:00:00Z"), 9},
		{at("2026-11-23T22:00:00Z"), 10},
		{at("2026-11-23T22:00:00.000000001Z"), 4},
		{at("9999-12-31T23:59:59.999999999Z"), 1<<64 - 1},
	}
	for i, k := range keys {
		key := Key(k.t, k.seq)
		require.Len(t, key, Len)
		require.True(t, bytes.HasPrefix(key, Time(k.t)))
		got, seq, err := Parse(append(key, `{"json":1}`...))
		require.NoError(t, err)
		require.True(t, got.Equal(k.t), "%s: %s", k.t, got)
		require.Equal(t, k.seq, seq)
		if i > 0 {
			prev := keys[i-1]
			require.Negative(t, bytes.Compare(Key(prev.t, prev.seq), key), "%s #%d before %s #%d", prev.t, prev.seq, k.t, k.seq)
		}
	}
	_, _, err := Parse([]byte("short"))
	require.Error(t, err)
}
