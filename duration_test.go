package klaxon_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
)

func TestSpan(t *testing.T) {
	for d, want := range map[time.Duration]string{
		24 * time.Hour:              "1 day",
		klaxon.DefaultMaxSnooze:     "7 days",
		366 * 24 * time.Hour:        "366 days",
		36 * time.Hour:              "36h0m0s",
		klaxon.DefaultMaxSnooze + 1: "168h0m0.000000001s",
		0:                           "0s",
		-24 * time.Hour:             "-24h0m0s",
	} {
		require.Equal(t, want, klaxon.Span(d), "%d", d)
	}
}
