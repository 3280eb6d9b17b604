package review

import (
	"encoding/json"
	"slices"
	"time"
)

// Stat sums up a set of durations, such as the times to acknowledge of
// a group's incidents. Median and P90 are percentiles by the nearest-rank
// method (see percentile): each is one of the durations measured, never
// an interpolation. With no durations (Count 0) all three are zero, and
// JSON says null.
type Stat struct {
	// Count is how many durations were measured: for MTTA, the incidents
	// acknowledged; for MTTR, those resolved.
	Count int `json:"count"`
	// Mean is their sum divided by Count, rounded down to the nanosecond.
	Mean Duration `json:"mean_seconds"`
	// Median is the 50th percentile: for an even Count, the lower of the
	// two middle durations.
	Median Duration `json:"median_seconds"`
	// P90 is the 90th percentile.
	P90 Duration `json:"p90_seconds"`
}

// MarshalJSON writes s with its durations in seconds, null when s has
// none.
func (s Stat) MarshalJSON() ([]byte, error) {
	type durations struct {
		Count  int       `json:"count"`
		Mean   *Duration `json:"mean_seconds"`
		Median *Duration `json:"median_seconds"`
		P90    *Duration `json:"p90_seconds"`
	}
	out := durations{Count: s.Count}
	if s.Count > 0 {
		out.Mean, out.Median, out.P90 = &s.Mean, &s.Median, &s.P90
	}
	return json.Marshal(out)
}

// UnmarshalJSON reads what MarshalJSON writes.
func (s *Stat) UnmarshalJSON(b []byte) error {
	var in struct {
		Count  int       `json:"count"`
		Mean   *Duration `json:"mean_seconds"`
		Median *Duration `json:"median_seconds"`
		P90    *Duration `json:"p90_seconds"`
	}
	if err := json.Unmarshal(b, &in); err != nil {
		return err
	}
	*s = Stat{Count: in.Count}
	for _, f := range []struct{ from, to *Duration }{{in.Mean, &s.Mean}, {in.Median, &s.Median}, {in.P90, &s.P90}} {
		if f.from != nil {
			*f.to = *f.from
		}
	}
	return nil
}

// stat sums up ds, which it sorts.
func stat(ds []time.Duration) Stat {
	if len(ds) == 0 {
		return Stat{}
	}
	slices.Sort(ds)
	// The mean without the sum, which a Duration holds to 292 years
	// only: 10,000 incidents of 11 days went past it. Each duration's
	// share of it, and what the shares leave over (less than n each).
	n := time.Duration(len(ds))
	var share, over time.Duration
	for _, d := range ds {
		share += d / n
		over += d % n
	}
	return Stat{
		Count:  len(ds),
		Mean:   Duration(share + over/n),
		Median: Duration(percentile(ds, 50)),
		P90:    Duration(percentile(ds, 90)),
	}
}

// percentile returns the p-th percentile (0 < p ≤ 100) of sorted, by the
// nearest-rank method: the value of rank ⌈p·N/100⌉ in ascending order,
// counting from 1, where N is len(sorted). The 50th of 4 values is the
// 2nd, of 5 the 3rd; the 90th of 10 is the 9th, of 11 the 10th, of 5 the
// 5th, of 1 the only one. Ranks are computed in integers, so that no
// rounding of p/100 moves them. It returns 0 for no values.
func percentile(sorted []time.Duration, p int) time.Duration {
	n := len(sorted)
	if n == 0 {
		return 0
	}
	rank := (p*n + 99) / 100 // ⌈p·n/100⌉
	rank = max(1, min(rank, n))
	return sorted[rank-1]
}
