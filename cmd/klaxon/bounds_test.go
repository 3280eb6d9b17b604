package main

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestConfiguredBounds: api.max_snooze and api.max_override refuse what
// the defaults (7 and 366 days) would accept, with a 400 that names the
// bound, and a reload moves them.
func TestConfiguredBounds(t *testing.T) {
	config := writeScheduleConfig(t, time.Hour)
	rewrite(t, config, "api:\n", "api:\n  max_snooze: 1h\n  max_override: 2d\n")
	base, _, _ := startServe(t, config)
	postFixture(t, base, "firing-one-alert.json")
	inc := findIncident(t, base, "DiskFull")

	code, out := post(t, base+"/v1/incidents/"+inc.ID+"/snooze", apiToken, "application/json", []byte(`{"duration":"2h"}`))
	require.Equal(t, http.StatusBadRequest, code, out)
	require.Equal(t, "duration", out["field"])
	require.Equal(t, "duration: a snooze lasts at most 1h0m0s (api.max_snooze), got 2h0m0s: resolve the incident instead", out["error"])

	from := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	override := []byte(`{"user":"bob","from":"` + from.Format(time.RFC3339) + `","to":"` + from.Add(3*24*time.Hour).Format(time.RFC3339) + `"}`)
	code, out = post(t, base+"/v1/schedules/primary/overrides", apiToken, "application/json", override)
	require.Equal(t, http.StatusBadRequest, code, out)
	require.Equal(t, "to", out["field"])
	require.Equal(t, "to: an override lasts at most 2 days (api.max_override), this one 3 days: change the schedule's YAML instead", out["error"])

	rewrite(t, config, "max_snooze: 1h\n  max_override: 2d\n", "max_snooze: 3h\n  max_override: 3d\n")
	waitFor(t, "the new bounds are live", func() bool {
		code, _ := post(t, base+"/v1/schedules/primary/overrides", apiToken, "application/json", override)
		return code == http.StatusCreated
	})
	code, out = post(t, base+"/v1/incidents/"+inc.ID+"/snooze", apiToken, "application/json", []byte(`{"duration":"2h"}`))
	require.Equal(t, http.StatusOK, code, out)
}

// TestDefaultSnoozeBound: unset, a snooze lasts at most 7 days.
func TestDefaultSnoozeBound(t *testing.T) {
	base, _, _ := startServe(t, writeConfig(t, time.Hour))
	postFixture(t, base, "firing-one-alert.json")
	inc := findIncident(t, base, "DiskFull")
	code, out := post(t, base+"/v1/incidents/"+inc.ID+"/snooze", apiToken, "application/json", []byte(`{"duration":"169h"}`))
	require.Equal(t, http.StatusBadRequest, code, out)
	require.Contains(t, out["error"], "a snooze lasts at most 7 days (api.max_snooze), got 169h0m0s")
	code, out = post(t, base+"/v1/incidents/"+inc.ID+"/snooze", apiToken, "application/json", []byte(`{"duration":"168h"}`))
	require.Equal(t, http.StatusOK, code, out)
}
