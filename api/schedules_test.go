package api

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestSchedulesClock: the schedule endpoints take now from the server's
// clock, never the machine's: who is on call and the feed default to it,
// and an override that ended before it is in the past, one that ends
// after it is not, whatever the machine's clock says.
func TestSchedulesClock(t *testing.T) {
	// Years from the machine's clock either way.
	for _, now := range []time.Time{
		time.Date(2020, 3, 1, 12, 0, 0, 0, time.UTC),
		time.Date(2040, 3, 1, 12, 0, 0, 0, time.UTC),
	} {
		t.Run(now.Format("2006"), func(t *testing.T) {
			s, _ := testServer(t, func(o *Options) { o.Now = func() time.Time { return now } })

			code, body := call(s, "GET", "/v1/schedules/primary/oncall", readToken, "")
			require.Equal(t, http.StatusOK, code, body)
			var oc OnCall
			require.NoError(t, json.Unmarshal([]byte(body), &oc))
			require.True(t, now.Equal(oc.At), "at defaults to the server's now, got %s", oc.At)

			code, body = call(s, "GET", "/v1/schedules/primary.ics", readToken, "")
			require.Equal(t, http.StatusOK, code, body)
			require.Contains(t, body, "DTSTAMP:"+now.Format("20060102T150405Z"))
			require.Contains(t, body, "DTSTART:"+now.Add(-7*24*time.Hour).Format("20060102T150405Z"), "the window starts a week before now")

			override := func(from, to time.Time) string {
				return `{"user": "alice", "from": "` + from.Format(time.RFC3339) + `", "to": "` + to.Format(time.RFC3339) + `"}`
			}
			code, body = call(s, "POST", "/v1/schedules/primary/overrides", adminToken, override(now.Add(-2*time.Hour), now.Add(-time.Hour)))
			require.Equal(t, http.StatusBadRequest, code, body)
			require.Equal(t, "to: is in the past", errorOf(t, body).Error)

			code, body = call(s, "POST", "/v1/schedules/primary/overrides", adminToken, override(now.Add(time.Hour), now.Add(2*time.Hour)))
			require.Equal(t, http.StatusCreated, code, body)
			code, body = call(s, "GET", "/v1/schedules/primary/overrides", readToken, "")
			require.Equal(t, http.StatusOK, code, body)
			require.Equal(t, 1, strings.Count(body, `"user":"alice"`), "the override is current at the server's now: %s", body)
		})
	}
}

// TestScheduleTimesInRange: a time asked about past what JSON can write
// the shifts around it in (the year 9999) is a 400 naming its parameter;
// it was a 200 with no body, the encoder having failed after the status.
func TestScheduleTimesInRange(t *testing.T) {
	s, _ := testServer(t)
	for _, q := range []string{
		"/v1/schedules/primary/shifts?from=9999-12-31T00:00:00Z&to=9999-12-31T23:30:00Z",
		"/v1/schedules/primary/oncall?at=9999-12-31T23:30:00Z",
	} {
		code, body := call(s, "GET", q, readToken, "")
		require.Equal(t, http.StatusBadRequest, code, body)
		require.Contains(t, errorOf(t, body).Error, "must be a time in the years 1 to 9000", body)
	}
}

// TestWriteJSONCannotEncode: an answer that cannot be encoded is a 500
// that says why, not its status with no body.
func TestWriteJSONCannotEncode(t *testing.T) {
	rec := httptest.NewRecorder()
	writeJSON(rec, http.StatusOK, map[string]time.Time{"end": time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)})
	require.Equal(t, http.StatusInternalServerError, rec.Code)
	require.Contains(t, errorOf(t, rec.Body.String()).Error, "encode the answer")
}
