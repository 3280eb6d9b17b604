package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon/internal/slacktest"
)

// TestSlackFailuresCounted: an incident's Slack message that Slack
// refuses (here a channel it does not know, as after the bot is removed
// from it) is counted on /metrics, so that an SRE can alert on Slack
// failing as on pages failing; the messages waiting are a gauge.
func TestSlackFailuresCounted(t *testing.T) {
	fake := slacktest.Start(t)
	config := writeConfig(t, time.Hour)
	b, err := os.ReadFile(config)
	require.NoError(t, err)
	cfg := strings.Replace(string(b), "notify:\n  console: {}\n", fmt.Sprintf("notify:\n  console: {}\n  slack: {bot_token: %s, signing_secret: %s, api_url: %q}\n",
		fake.BotToken, fake.SigningSecret, fake.APIURL), 1)
	require.NoError(t, os.WriteFile(config, []byte(cfg), 0o644))
	policy := filepath.Join(filepath.Dir(config), "policies", "oncall.yaml")
	p, err := os.ReadFile(policy)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(policy, []byte(strings.Replace(string(p), "name: oncall\n", "name: oncall\nslack_channel: X0GONE\n", 1)), 0o644))
	base, _, _ := startServe(t, config)

	_, m := getText(t, base+"/metrics")
	require.True(t, strings.Contains(m, `klaxon_slack_messages_total{result="failed"} 0`), "the series exist from the start")
	require.True(t, strings.Contains(m, "klaxon_slack_messages_waiting 0"), "the queue's depth")

	postFixture(t, base, "firing-two-alerts.json")
	waitFor(t, "Slack's refusal is counted", func() bool {
		_, m = getText(t, base+"/metrics")
		return metric(t, m, `klaxon_slack_messages_total{result="failed"}`) >= 1
	})
	require.Equal(t, 0.0, metric(t, m, `klaxon_slack_messages_total{result="sent"}`))
}
