package main

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon/api"
)

// writeScheduleConfig is writeConfig with a schedule "primary" (alice and
// bob, weekly from Monday 2026-01-05 09:00 New York) that step two pages.
func writeScheduleConfig(t *testing.T, escalateAfter time.Duration) string {
	t.Helper()
	config := writeConfig(t, escalateAfter)
	dir := filepath.Dir(config)
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "schedules"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "schedules", "primary.yaml"), []byte(`name: primary
time_zone: America/New_York
layers:
  - name: weekly
    rotation: {every: 1w, handoff: "2026-01-05T09:00"}
    members: [alice, bob]
`), 0o644))
	b, err := os.ReadFile(config)
	require.NoError(t, err)
	b = append(b, "schedules: schedules/\n"...)
	b = []byte(strings.Replace(string(b), "api:\n", "api:\n  feed_tokens: [{name: calendar, schedule: primary, token: "+feedToken+"}]\n", 1))
	require.NoError(t, os.WriteFile(config, b, 0o644))
	p := filepath.Join(dir, "policies", "oncall.yaml")
	b, err = os.ReadFile(p)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(p, []byte(strings.Replace(string(b), "user:bob", "schedule:primary", 1)), 0o644))
	return config
}

func TestOnCall(t *testing.T) {
	base, logs, _ := startServe(t, writeScheduleConfig(t, 300*time.Millisecond))
	cli := func(args ...string) (string, error) {
		var out, errOut bytes.Buffer
		err := run(t.Context(), append(args, "--server", base, "--token", apiToken), &out, &errOut)
		return out.String() + errOut.String(), err
	}

	t.Run("who is on call at an instant", func(t *testing.T) {
		var oc api.OnCall
		getJSON(t, base+"/v1/schedules/primary/oncall?at=2026-11-24T17:00:00Z", &oc)
		require.Equal(t, []string{"alice"}, oc.Users, "week 46 of the rotation is alice's")
		require.Equal(t, "America/New_York", oc.TimeZone)

		out, err := cli("oncall", "primary", "--at", "2026-12-01T17:00:00Z")
		require.NoError(t, err)
		require.Contains(t, out, "primary   bob      Tue 2026-12-01 12:00 EST")
		// A wall time is the schedule's: 12:00 in New York, whatever
		// the machine's zone.
		out, err = cli("oncall", "primary", "--at", "2026-12-01T12:00")
		require.NoError(t, err)
		require.Contains(t, out, "primary   bob      Tue 2026-12-01 12:00 EST")

		var all api.OnCallList
		getJSON(t, base+"/v1/oncall?at=2026-11-24T17:00:00Z", &all)
		require.Len(t, all.OnCall, 1)
	})

	t.Run("shifts and the calendar feed", func(t *testing.T) {
		out, err := cli("schedule", "show", "primary", "--from", "2026-11-23T14:00:00Z", "--to", "2026-12-07T14:00:00Z")
		require.NoError(t, err)
		require.Contains(t, out, "alice  Mon 2026-11-23 09:00 EST  Mon 2026-11-30 09:00 EST")
		require.Contains(t, out, "bob    Mon 2026-11-30 09:00 EST  Mon 2026-12-07 09:00 EST")
		wall, err := cli("schedule", "show", "primary", "--from", "2026-11-23T09:00", "--to", "2026-12-07T09:00")
		require.NoError(t, err)
		require.Equal(t, out, wall, "wall times in the schedule's zone")
		_, err = cli("schedule", "show", "primary", "--to", "+3d")
		require.NoError(t, err)
		_, err = cli("schedule", "show", "primary", "--to", "tomorrow")
		require.Error(t, err)

		resp, err := http.Get(base + "/v1/schedules/primary.ics?token=" + feedToken + "&from=2026-11-23T14:00:00Z&to=2026-12-07T14:00:00Z")
		require.NoError(t, err)
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
		require.Equal(t, "text/calendar; charset=utf-8", resp.Header.Get("Content-Type"))
		ics := string(body)
		require.True(t, strings.HasPrefix(ics, "BEGIN:VCALENDAR\r\n"))
		require.Equal(t, 2, strings.Count(ics, "BEGIN:VEVENT"))
		require.Contains(t, ics, "DTSTART:20261123T140000Z\r\nDTEND:20261130T140000Z\r\nSUMMARY:On call: alice (primary)\r\n")

		resp, err = http.Get(base + "/v1/schedules/primary.ics")
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusUnauthorized, resp.StatusCode)

		// The API token never goes in a URL.
		resp, err = http.Get(base + "/v1/schedules/primary.ics?token=" + apiToken)
		require.NoError(t, err)
		body, err = io.ReadAll(resp.Body)
		resp.Body.Close()
		require.NoError(t, err)
		require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
		require.Contains(t, string(body), "feed token")
	})

	t.Run("a runtime override pages its user and can be deleted", func(t *testing.T) {
		// Who is on call at one instant, read again after the override
		// comes and goes: the weekly rotation may hand off between two
		// reads of "now".
		at := base + "/v1/schedules/primary/oncall?at=" + time.Now().UTC().Format(time.RFC3339)
		var before api.OnCall
		getJSON(t, at, &before)
		require.Len(t, before.Users, 1)
		other := map[string]string{"alice": "bob", "bob": "alice"}[before.Users[0]]

		out, err := cli("override", "primary", other, "--from", "-1m", "--to", "+1h")
		require.NoError(t, err)
		require.Contains(t, out, "override 1: "+other+" on call in primary")
		var now api.OnCall
		getJSON(t, at, &now)
		require.Equal(t, []string{other}, now.Users)

		out, err = cli("override", "list")
		require.NoError(t, err)
		require.Contains(t, out, "primary   "+other)

		// Step two targets the schedule: it pages the override's user.
		postFixture(t, base, "firing-one-alert.json")
		id := findIncident(t, base, "DiskFull").ID
		waitFor(t, "step two pages the schedule", func() bool { return len(logs.pagesFor(id)) >= 2 })
		require.Equal(t, other, logs.pagesFor(id)[1].user)

		out, err = cli("override", "delete", "primary", "1")
		require.NoError(t, err)
		require.Equal(t, "override 1 of primary deleted\n", out)
		getJSON(t, at, &now)
		require.Equal(t, before.Users, now.Users)
		_, err = cli("override", "delete", "primary", "1")
		require.ErrorContains(t, err, "404")

		// One from now is on call at once: oncall asks for now to the
		// nanosecond, not to the second before the override began.
		out, err = cli("override", "primary", other, "--from", "now", "--to", "+1h")
		require.NoError(t, err)
		require.Contains(t, out, "override 2: ")
		out, err = cli("oncall", "primary")
		require.NoError(t, err)
		require.Contains(t, out, other, out)
		_, err = cli("override", "delete", "primary", "2")
		require.NoError(t, err)
	})

	t.Run("bad requests", func(t *testing.T) {
		_, err := cli("override", "primary", "zed", "--from", "now", "--to", "+1h")
		require.ErrorContains(t, err, `no user "zed"`)
		_, err = cli("override", "primary", "bob", "--from", "+2h", "--to", "+1h")
		require.ErrorContains(t, err, "must be after from")
		_, err = cli("override", "primary", "bob", "--from", "0002-01-01T00:00:00Z", "--to", "9999-12-31T00:00:00Z")
		require.ErrorContains(t, err, "an override lasts at most 366 days")
		_, err = cli("oncall", "nope")
		require.ErrorContains(t, err, `no schedule "nope"`)
		code, out := post(t, base+"/v1/schedules/primary/overrides", apiToken, "application/json", []byte(`{"user":"bob"}`))
		require.Equal(t, http.StatusBadRequest, code, out)
	})
}
