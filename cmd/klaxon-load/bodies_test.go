package main

import (
	"encoding/json"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon/ingest"
)

// TestOccurrence checks that stamping a cycle keeps every format's body
// valid and of the same length, and starts every alert of it at the
// cycle's own time, a new one each cycle.
func TestOccurrence(t *testing.T) {
	l := layout{perBody: 10, groups: 2, distinct: 40}
	for _, format := range []string{formatWebhook, formatAlertmanagerAPI} {
		t.Run(format, func(t *testing.T) {
			bodies, err := l.bodies(format, "")
			require.NoError(t, err)
			b := bodies[1]
			require.Len(t, b.starts, 10, "one start per alert")
			var buf []byte
			seen := map[string]bool{}
			for _, c := range []int{0, 1, 2, 999, 86_400_000} {
				buf = b.occurrence(buf, c)
				require.Len(t, buf, len(b.data))
				var starts []time.Time
				if format == formatWebhook {
					alerts, err := ingest.DecodeAlertmanager("load", buf)
					require.NoError(t, err)
					for _, a := range alerts {
						starts = append(starts, a.StartsAt)
					}
				} else {
					var list []struct {
						StartsAt time.Time `json:"startsAt"`
					}
					require.NoError(t, json.Unmarshal(buf, &list))
					for _, a := range list {
						starts = append(starts, a.StartsAt)
					}
				}
				require.Len(t, starts, 10)
				want := startsAt.Add(time.Duration(c) * time.Millisecond)
				for _, s := range starts {
					require.True(t, s.Equal(want), "cycle %d: got %s, want %s", c, s, want)
				}
				require.False(t, seen[string(buf)], "cycle %d repeats an earlier body", c)
				seen[string(buf)] = true
			}
			require.Equal(t, stamp(0), string(b.data[b.starts[0]:b.starts[0]+len(stamp(0))]), "the encoded body is left as it was")
		})
	}
}

// TestPagerDutyBodies checks that the PagerDuty bodies are trigger events
// Klaxon takes, one alert each, with the token as routing_key, distinct
// dedup keys, the group as a label, and a timestamp stamped per cycle.
func TestPagerDutyBodies(t *testing.T) {
	l := layout{perBody: 1, groups: 5, distinct: 50}
	bodies, err := l.bodies(formatPagerDuty, "pd-key")
	require.NoError(t, err)
	require.Len(t, bodies, 50)
	keys, groups := map[string]bool{}, map[string]bool{}
	for i, b := range bodies {
		var raw map[string]any
		require.NoError(t, json.Unmarshal(b.data, &raw))
		require.Equal(t, "trigger", raw["event_action"])
		require.Equal(t, "warning", raw["payload"].(map[string]any)["severity"])

		ev, err := ingest.DecodePagerDuty("tools", b.occurrence(nil, 3))
		require.NoError(t, err)
		require.Equal(t, "pd-key", ev.RoutingKey)
		require.Equal(t, ingest.ActionTrigger, ev.Action)
		require.Equal(t, "load alert "+strconv.Itoa(i), ev.Alert.Summary)
		require.True(t, ev.Alert.StartsAt.Equal(startsAt.Add(3*time.Millisecond)), ev.Alert.StartsAt)
		keys[ev.DedupKey] = true
		groups[ev.Alert.Labels["group"]] = true
	}
	require.Len(t, keys, 50)
	require.Len(t, groups, 5)

	_, err = layout{perBody: 2, groups: 1, distinct: 2}.bodies(formatPagerDuty, "pd-key")
	require.Error(t, err, "a PagerDuty event holds one alert")
}
