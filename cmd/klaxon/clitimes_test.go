package main

import (
	"bytes"
	"regexp"
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
