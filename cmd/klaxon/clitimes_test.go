package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestCLITimesNameTheirZone: every time the CLI prints says its date and
// its zone. A responder reading `klaxon incident show` at 3 a.m., on a
// laptop in one zone about a server in another, or pasting the timeline
// into a channel of people in several, must not guess which clock a
// "05:10:10" is on, nor which day a timeline's event of an incident that
// ran overnight happened.
func TestCLITimesNameTheirZone(t *testing.T) {
	base, _, _ := startServe(t, writeConfig(t, time.Hour))
	postFixture(t, base, "firing-two-alerts.json")
	id := findIncident(t, base, "HighErrorRate").ID
	cli := func(args ...string) string {
		t.Helper()
		var out, errOut bytes.Buffer
		require.NoError(t, run(t.Context(), append(args, "--server", base, "--token", apiToken), &out, &errOut), errOut.String())
		return out.String()
	}
	zone := regexp.QuoteMeta(time.Now().Format("MST"))
	stamp := `\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d{3})? ` + zone + `\b`

	require.Regexp(t, `(?m)^`+id+` +triggered +high +2/2 +`+stamp+` `, cli("incidents"), "OPENED")
	show := cli("incident", "show", id)
	require.Regexp(t, `opened `+stamp, show, "the header")
	require.Regexp(t, `(?m)^prometheus/\S+ +firing +1 +`+stamp, show, "an alert's LAST SEEN")
	require.Regexp(t, `(?m)^`+stamp+` +triggered `, show, "a timeline event's AT")
	require.Regexp(t, `(?m)^`+stamp+` +triggered `, cli("incident", "timeline", id), "a timeline page's AT")
	require.Regexp(t, `snoozed until `+stamp+`:`, cli("snooze", id, "30m"))
	require.Regexp(t, `until `+stamp+`\n`, cli("maintenance", "start", "--matchers", `service="db"`, "--for", "2h"))
	require.Regexp(t, `(?m)^\S+ +`+stamp+` +`+stamp+` +service="db"`, cli("maintenance", "list"))
}

// TestOverrideTimesInScheduleZone: override is a schedule command. Its
// --from and --to are read in the schedule's zone, and the README says
// the schedule commands print times in the schedule's zone too: an
// override asked from 09:00 where the rotation hands off is said to run
// from 09:00 there, not from that instant on this machine's clock.
func TestOverrideTimesInScheduleZone(t *testing.T) {
	// The schedule's zone, one that is not this machine's, for the test
	// to tell them apart.
	zone := "America/New_York"
	loc, err := time.LoadLocation(zone)
	require.NoError(t, err)
	if probe := time.Date(2026, 1, 5, 9, 0, 0, 0, loc); probe.Format("15:04 MST") == probe.Local().Format("15:04 MST") {
		zone = "Asia/Tokyo"
		loc, err = time.LoadLocation(zone)
		require.NoError(t, err)
	}
	day := time.Now().In(loc).AddDate(0, 0, 2)
	from := time.Date(day.Year(), day.Month(), day.Day(), 9, 0, 0, 0, loc)
	config := writeScheduleConfig(t, time.Hour)
	sched := filepath.Join(filepath.Dir(config), "schedules", "primary.yaml")
	b, err := os.ReadFile(sched)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(sched, []byte(strings.Replace(string(b), "America/New_York", zone, 1)), 0o644))
	base, _, _ := startServe(t, config)
	cli := func(args ...string) string {
		t.Helper()
		var out, errOut bytes.Buffer
		require.NoError(t, run(t.Context(), append(args, "--server", base, "--token", apiToken), &out, &errOut), errOut.String())
		return out.String()
	}
	wall := from.Format("2006-01-02T15:04")
	to := from.Add(8 * time.Hour)
	out := cli("override", "primary", "bob", "--from", wall, "--to", to.Format("2006-01-02T15:04"))
	require.Contains(t, out, "from "+from.Format(timeStamp)+" to "+to.Format(timeStamp), "in the schedule's zone, as asked")
	require.Regexp(t, `(?m)^1 +primary +bob +`+regexp.QuoteMeta(from.Format(timeStamp))+` +`+regexp.QuoteMeta(to.Format(timeStamp)), cli("override", "list", "primary"))
	require.Regexp(t, `(?m)^1 +primary +bob +`+regexp.QuoteMeta(from.Format(timeStamp)), cli("override", "list"))
}

// TestReportWindowInLocalZone: `klaxon report` prints the window it
// counted in this machine's time zone, as every other command that is
// not a schedule command prints its times (the README: "TZ=Europe/Berlin
// klaxon incidents for another"). It printed it in UTC whatever TZ said:
// "Incidents opened from 2026-10-31 06:04 UTC." on a laptop in Berlin,
// beside `klaxon incidents` saying 07:04 CET.
func TestReportWindowInLocalZone(t *testing.T) {
	bin := buildKlaxon(t)
	base, _, _ := startServe(t, writeConfig(t, time.Hour))
	// A zone that is not UTC, the zone the report used to print in.
	zone := "Asia/Tokyo"
	loc, err := time.LoadLocation(zone)
	require.NoError(t, err)

	since := "2026-11-02T00:00:00Z"
	cmd := exec.Command(bin, "report", "--since", since, "--server", base, "--token", apiToken)
	cmd.Env = append(os.Environ(), "TZ="+zone, "KLAXON_SERVER=", "KLAXON_API_TOKEN=")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Run(), stderr.String())

	at, err := time.Parse(time.RFC3339, since)
	require.NoError(t, err)
	want := "Incidents opened from " + at.In(loc).Format("2006-01-02 15:04 MST") + "."
	require.Equal(t, want, strings.SplitN(stdout.String(), "\n", 2)[0], "the window, in TZ's zone")
}
