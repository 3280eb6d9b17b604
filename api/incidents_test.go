package api

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestSnoozeDuration: a snooze's duration is written as klaxon.yaml's
// durations are, days and weeks too, so that "7d", which api.max_snooze
// allows by default, is accepted; past the bound, or not a positive
// duration, it is a 400 on the field.
func TestSnoozeDuration(t *testing.T) {
	for _, tc := range []struct {
		duration string
		want     time.Duration // 0: refused
		msg      string
	}{
		{duration: "30m", want: 30 * time.Minute},
		{duration: "1h30m", want: 90 * time.Minute},
		{duration: "7d", want: 7 * 24 * time.Hour},
		{duration: "1w", want: 7 * 24 * time.Hour},
		{duration: "2d12h", want: 60 * time.Hour},
		{duration: "8d", msg: "duration: a snooze lasts at most 7 days (api.max_snooze), got 8 days: resolve the incident instead"},
		{duration: "0s", msg: `duration: must be a positive duration such as 30m, 2h or 1d, got "0s"`},
		{duration: "-1d", msg: `duration: must be a positive duration such as 30m, 2h or 1d, got "-1d"`},
		{duration: "soon", msg: `duration: must be a positive duration such as 30m, 2h or 1d, got "soon"`},
	} {
		t.Run(tc.duration, func(t *testing.T) {
			s, cmds := testServer(t)
			code, body := call(s, "POST", "/v1/incidents/7/snooze", actToken, `{"duration": "`+tc.duration+`"}`)
			if tc.want == 0 {
				require.Equal(t, http.StatusBadRequest, code, body)
				e := errorOf(t, body)
				require.Equal(t, "duration", e.Field)
				require.Equal(t, tc.msg, e.Error)
				require.Empty(t, cmds.snoozes)
				return
			}
			require.Equal(t, http.StatusOK, code, body)
			require.Equal(t, []time.Duration{tc.want}, cmds.snoozes)
		})
	}
}
