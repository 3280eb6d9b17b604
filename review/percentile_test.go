package review

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestPercentile pins the nearest-rank method: the value of rank
// ⌈p·N/100⌉, counting from 1.
func TestPercentile(t *testing.T) {
	minutes := func(ms ...int) []time.Duration {
		out := make([]time.Duration, len(ms))
		for i, m := range ms {
			out[i] = time.Duration(m) * time.Minute
		}
		return out
	}
	for _, tc := range []struct {
		name   string
		values []time.Duration
		p      int
		want   time.Duration
	}{
		{"no values", nil, 50, 0},
		{"one value is every percentile", minutes(7), 90, 7 * time.Minute},
		{"median of 4 is the 2nd, not the mean of the 2nd and 3rd", minutes(1, 2, 3, 4), 50, 2 * time.Minute},
		{"median of 5 is the 3rd", minutes(1, 2, 3, 4, 5), 50, 3 * time.Minute},
		{"p90 of 5 is the 5th (rank 4.5 up)", minutes(1, 2, 3, 4, 5), 90, 5 * time.Minute},
		{"p90 of 10 is the 9th (rank exactly 9)", minutes(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 90, 9 * time.Minute},
		{"p90 of 11 is the 10th (rank 9.9 up)", minutes(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11), 90, 10 * time.Minute},
		{"p90 of 20 is the 18th", minutes(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20), 90, 18 * time.Minute},
		{"p100 is the largest", minutes(1, 2, 3), 100, 3 * time.Minute},
		{"p1 of 3 is the smallest", minutes(1, 2, 3), 1, time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, percentile(tc.values, tc.p))
		})
	}
}

func TestStat(t *testing.T) {
	// Unsorted in, sorted for the ranks; the mean rounds down.
	s := stat([]time.Duration{10 * time.Second, time.Second, 2 * time.Second})
	require.Equal(t, Stat{Count: 3, Mean: Duration(13 * time.Second / 3), Median: Duration(2 * time.Second), P90: Duration(10 * time.Second)}, s)
	require.Equal(t, Duration(4333333333), s.Mean)
	require.Equal(t, Stat{}, stat(nil))

	// A report's most incidents, each resolved after 11 days: their sum
	// is past what a Duration holds, their mean is not.
	long := make([]time.Duration, MaxIncidents)
	for i := range long {
		long[i] = 11 * 24 * time.Hour
	}
	require.Equal(t, Duration(11*24*time.Hour), stat(long).Mean)
}
