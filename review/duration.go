package review

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Duration is a time.Duration that a report writes in JSON as seconds (a
// number, with a fraction when it has one), and as text in short units
// ("4m30s", "1h2m", "2d3h"; see String).
type Duration time.Duration

// String says d rounded to the second, in days, hours, minutes and
// seconds, leaving out the units that are zero: "45s", "4m30s", "1h",
// "1h0m5s" is "1h5s", "2d3h". Zero is "0s"; a negative duration has a
// leading "-".
func (d Duration) String() string {
	t := time.Duration(d).Round(time.Second)
	if t == 0 {
		return "0s"
	}
	var b strings.Builder
	if t < 0 {
		b.WriteByte('-')
		t = -t
	}
	for _, u := range []struct {
		unit time.Duration
		name string
	}{{24 * time.Hour, "d"}, {time.Hour, "h"}, {time.Minute, "m"}, {time.Second, "s"}} {
		if n := t / u.unit; n > 0 {
			b.WriteString(strconv.FormatInt(int64(n), 10))
			b.WriteString(u.name)
			t -= n * u.unit
		}
	}
	return b.String()
}

// Seconds is d in seconds.
func (d Duration) Seconds() float64 { return time.Duration(d).Seconds() }

// MarshalJSON writes d as a number of seconds.
func (d Duration) MarshalJSON() ([]byte, error) {
	return strconv.AppendFloat(nil, d.Seconds(), 'f', -1, 64), nil
}

// UnmarshalJSON reads a number of seconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return fmt.Errorf("read duration in seconds: %w", err)
	}
	*d = Duration(math.Round(f * float64(time.Second)))
	return nil
}
