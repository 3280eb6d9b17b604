package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/klaxonhq/klaxon"
)

// ParseDuration parses a duration as time.ParseDuration does ("90s",
// "1h30m", "0s"), and also accepts whole days (d, 24h) and weeks (w, 168h):
// "1w", "2d12h".
func ParseDuration(s string) (time.Duration, error) {
	bad := fmt.Errorf("bad duration %q: want a number and a unit, like 30s, 5m, 1h30m, 2d or 1w", s)
	if !strings.ContainsAny(s, "dw") {
		d, err := time.ParseDuration(s)
		if err != nil {
			return 0, bad
		}
		return d, nil
	}
	// Rewrite days and weeks as hours for time.ParseDuration, which then
	// checks the rest and the sum for overflow.
	var b strings.Builder
	rest := s
	if rest != "" && (rest[0] == '-' || rest[0] == '+') {
		b.WriteByte(rest[0])
		rest = rest[1:]
	}
	for rest != "" {
		i := strings.IndexFunc(rest, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
		if i < 0 {
			return 0, bad // a number without a unit
		}
		j := strings.IndexFunc(rest[i:], func(r rune) bool { return ('0' <= r && r <= '9') || r == '.' })
		if j < 0 {
			j = len(rest)
		} else {
			j += i
		}
		num, unit := rest[:i], rest[i:j]
		switch unit {
		case "d", "w":
			n, err := strconv.ParseInt(num, 10, 64)
			hours := int64(24)
			if unit == "w" {
				hours = 7 * 24
			}
			if err != nil || n > math.MaxInt64/hours {
				return 0, bad
			}
			b.WriteString(strconv.FormatInt(n*hours, 10))
			b.WriteByte('h')
		default:
			b.WriteString(num)
			b.WriteString(unit)
		}
		rest = rest[j:]
	}
	d, err := time.ParseDuration(b.String())
	if err != nil {
		return 0, bad
	}
	return d, nil
}

// Since reads since as a duration back from now ("30d", the default)
// or an RFC 3339 time: the start of a report's window.
func Since(v string, now time.Time) (time.Time, error) {
	if v == "" {
		v = "30d"
	}
	if d, err := ParseDuration(v); err == nil && d > 0 {
		return now.Add(-d), nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return t, klaxon.Invalid("since", "want a duration back from now, like 30d, or an RFC 3339 time; got %q", v)
	}
	return t, nil
}
