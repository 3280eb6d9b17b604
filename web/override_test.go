package web_test

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon/schedule"
)

// TestOverrideFormWallTime: the override form reads a wall time that the
// clocks skip as the schedule's file and the command line do, at the end
// of the gap: 02:30 on the night New York's clocks go from 02:00 to
// 03:00 is 03:00. Before, the console stored 01:30, and put the person on
// call an hour before the time typed.
func TestOverrideFormWallTime(t *testing.T) {
	r := newRig(t)
	admin := r.signedIn(t, adminToken)
	csrf := admin.csrf("/schedules/primary")
	code, body, _ := admin.post("/schedules/primary/overrides", url.Values{"csrf": {csrf}, "user": {"alice"},
		"from": {"2027-03-14T02:30"}, "to": {"2027-03-14T08:00"}})
	require.Equal(t, http.StatusSeeOther, code, body)

	ovs, err := r.Store.Overrides(t.Context(), "primary", t0)
	require.NoError(t, err)
	require.Len(t, ovs, 1)
	ny, err := time.LoadLocation("America/New_York")
	require.NoError(t, err)
	want, ok := schedule.WallTime("2027-03-14T02:30", ny)
	require.True(t, ok)
	require.Equal(t, time.Date(2027, 3, 14, 7, 0, 0, 0, time.UTC), want.UTC())
	require.Equal(t, want.UTC(), ovs[0].From.UTC())
}
