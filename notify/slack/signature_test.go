package slack_test

import (
	"bytes"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/notify/slack"
)

// TestVerifySkew: a request signed too long ago or too far ahead is
// refused, and the error says which, and by how much.
func TestVerifySkew(t *testing.T) {
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	body := []byte("command=%2Fklaxon&text=oncall")
	for _, tt := range []struct {
		name string
		at   time.Time
		want string
	}{
		{"old", now.Add(-6*time.Minute - 39*time.Second), "timestamp 2026-11-30T11:53:21Z is 6m39s old, more than 5m0s"},
		{"ahead", now.Add(6*time.Minute + 39*time.Second), "timestamp 2026-11-30T12:06:39Z is 6m39s ahead of this clock, more than 5m0s"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/v1/slack/commands", bytes.NewReader(body))
			r.Header.Set(slack.TimestampHeader, strconv.FormatInt(tt.at.Unix(), 10))
			r.Header.Set(slack.SignatureHeader, string(slack.Sign("s3cret", tt.at.Unix(), body)))
			_, err := slack.Verify(r, "s3cret", now)
			require.ErrorIs(t, err, klaxon.ErrUnauthorized)
			require.ErrorContains(t, err, tt.want)
		})
	}
}
