package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestRouteTest(t *testing.T) {
	example := filepath.Join("..", "..", "examples", "klaxon.yaml")
	cases := []struct {
		name string
		args []string
		want string
	}{
		{
			name: "payments, critical, on a weekday morning in New York",
			args: []string{"--at", "2026-11-23T15:00:00Z", "service=payments", "severity=critical", "alertname=HighErrorRate"},
			want: `route:     {}/{service="payments",severity=~"critical|page"}
policy:    payments (repeat 2, ack_timeout 30m0s)
group key: {}/{service="payments",severity=~"critical|page"}:{alertname="HighErrorRate",service="payments"}
urgency:   high
step 1 at Mon 2026-11-23 15:00 UTC:
  schedule:payments-primary: dave by sms at 0s, voice at 2m0s
step 2 at Mon 2026-11-23 15:05 UTC:
  schedule:payments-secondary: carol by sms at 0s, email at 5m0s
  user:alice: alice by sms at 0s, voice at 1m0s, email at 0s
`,
		},
		{
			name: "a warning goes to the root route, low urgency",
			args: []string{"--at", "2026-12-24T12:00:00Z", "service=db", "severity=warning", "alertname=DiskFull"},
			want: `route:     {}
policy:    default (repeat 1, ack_timeout 0s)
group key: {}:{alertname="DiskFull",service="db"}
urgency:   low
step 1 at Thu 2026-12-24 12:00 UTC:
  user:alice: alice by sms at 0s, voice at 1m0s, email at 0s
step 2 at Thu 2026-12-24 12:05 UTC:
  user:bob: bob by voice at 0s, sms at 2m0s
`,
		},
		{
			// A sender's severity apart from its labels (Datadog's
			// alert_type error: critical) makes the incident urgent.
			name: "--severity, a sender's severity that is no label",
			args: []string{"--at", "2026-12-24T12:00:00Z", "--severity", "critical", "service=db", "severity=warning", "alertname=DiskFull"},
			want: `route:     {}
policy:    default (repeat 1, ack_timeout 0s)
group key: {}:{alertname="DiskFull",service="db"}
urgency:   high
step 1 at Thu 2026-12-24 12:00 UTC:
  user:alice: alice by sms at 0s, voice at 1m0s, email at 0s
step 2 at Thu 2026-12-24 12:05 UTC:
  user:bob: bob by voice at 0s, sms at 2m0s
`,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			err := run(t.Context(), append([]string{"route", "test", "--config", example}, c.args...), &out, &errOut)
			require.NoError(t, err, errOut.String())
			require.Equal(t, c.want, out.String())
		})
	}

	t.Run("an alert with none of the group_by labels is a group of its own", func(t *testing.T) {
		var out, errOut bytes.Buffer
		err := run(t.Context(), []string{"route", "test", "--config", example, "--at", "2026-12-24T12:00:00Z", "integration=tools", "severity=critical"}, &out, &errOut)
		require.NoError(t, err, errOut.String())
		require.Contains(t, out.String(), `group key: {}:"DEDUP_KEY" (none of group_by [alertname service] is set: the alert is a group of its own, keyed by its dedup key)`)
		require.Contains(t, out.String(), "urgency:   high")
	})

	t.Run("the config from KLAXON_CONFIG, without --config", func(t *testing.T) {
		t.Setenv("KLAXON_CONFIG", example)
		var out, errOut bytes.Buffer
		err := run(t.Context(), []string{"route", "test", "--at", "2026-12-24T12:00:00Z", "service=db", "alertname=DiskFull"}, &out, &errOut)
		require.NoError(t, err, errOut.String())
		require.Contains(t, out.String(), "policy:    default")
		err = run(t.Context(), []string{"check"}, &out, &errOut)
		require.NoError(t, err, errOut.String())
	})

	t.Run("a label must be name=value", func(t *testing.T) {
		var out, errOut bytes.Buffer
		err := run(t.Context(), []string{"route", "test", "--config", example, "service"}, &out, &errOut)
		require.EqualError(t, err, `label "service": want name=value`)
	})

	t.Run("an integration's labels route its alerts", func(t *testing.T) {
		dir := t.TempDir()
		require.NoError(t, os.CopyFS(dir, os.DirFS(filepath.Dir(example))))
		cfg := filepath.Join(dir, "klaxon.yaml")
		rewrite(t, cfg, "      policy: payments\n", "      policy: payments\n    - matchers: ['team=\"platform\"']\n      policy: payments\n")
		var out, errOut bytes.Buffer
		err := run(t.Context(), []string{"route", "test", "--config", cfg, "--at", "2026-12-24T12:00:00Z", "integration=generic", "service=db", "alertname=DiskFull"}, &out, &errOut)
		require.NoError(t, err, errOut.String())
		require.Contains(t, out.String(), "labels:    team=platform added by integration generic\nroute:     {}/{team=\"platform\"}\npolicy:    payments")
		out.Reset()
		err = run(t.Context(), []string{"route", "test", "--config", cfg, "--at", "2026-12-24T12:00:00Z", "integration=generic", "team=db", "service=db", "alertname=DiskFull"}, &out, &errOut)
		require.NoError(t, err, errOut.String())
		require.True(t, strings.HasPrefix(out.String(), "route:     {}\npolicy:    default"), "the sender's own team wins: %s", out.String())
	})

	t.Run("a maintenance window holds the first page", func(t *testing.T) {
		dir := t.TempDir()
		require.NoError(t, os.CopyFS(dir, os.DirFS(filepath.Dir(example))))
		cfg := filepath.Join(dir, "klaxon.yaml")
		rewrite(t, cfg, "# maintenance:", "maintenance:")
		rewrite(t, cfg, "#   - {name: db-upgrades", "  - {name: db-upgrades")
		var out, errOut bytes.Buffer
		// Saturday 02:30 UTC is 03:30 in Berlin, inside 02:00-04:00.
		err := run(t.Context(), []string{"route", "test", "--config", cfg, "--at", "2026-11-28T02:30:00Z", "service=db", "alertname=DiskFull"}, &out, &errOut)
		require.NoError(t, err, errOut.String())
		// route test writes times in the machine's zone.
		end := time.Date(2026, 11, 28, 3, 0, 0, 0, time.UTC).In(time.Local).Format("Mon 2006-01-02 15:04 MST")
		require.Contains(t, out.String(), "maintenance: db-upgrades holds the first page until "+end+"\nstep 1 at "+end+":")
		out.Reset()
		err = run(t.Context(), []string{"route", "test", "--config", cfg, "--at", "2026-11-28T03:00:00Z", "service=db", "alertname=DiskFull"}, &out, &errOut)
		require.NoError(t, err, errOut.String())
		require.NotContains(t, out.String(), "maintenance:")
	})
}
