package config

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{in: "0s", want: 0, ok: true},
		{in: "0", want: 0, ok: true},
		{in: "90s", want: 90 * time.Second, ok: true},
		{in: "1h30m", want: 90 * time.Minute, ok: true},
		{in: "1.5h", want: 90 * time.Minute, ok: true},
		{in: "1d", want: 24 * time.Hour, ok: true},
		{in: "1w", want: 7 * 24 * time.Hour, ok: true},
		{in: "2d12h", want: 60 * time.Hour, ok: true},
		{in: "1w2d3h4m5s", want: 9*24*time.Hour + 3*time.Hour + 4*time.Minute + 5*time.Second, ok: true},
		{in: "-1d", want: -24 * time.Hour, ok: true},
		{in: "500ms", want: 500 * time.Millisecond, ok: true},
		{in: "1µs", want: time.Microsecond, ok: true},
		{in: ""},
		{in: "5"},
		{in: "5d3"},
		{in: "d"},
		{in: "1.5d"},
		{in: "1x"},
		{in: "1dd"},
		{in: "w1"},
		{in: "99999999999999999999d"},
		{in: "20000000w"},
		{in: "2562047h1d"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseDuration(tt.in)
			if !tt.ok {
				require.EqualError(t, err, `bad duration "`+tt.in+`": want a number and a unit, like 30s, 5m, 1h30m, 2d or 1w`)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}
