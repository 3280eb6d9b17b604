package main

import (
	"fmt"
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
	rewrite(t, config, "notify:\n  console: {}\n", fmt.Sprintf("notify:\n  console: {}\n  slack: {bot_token: %s, signing_secret: %s, api_url: %q}\n",
		fake.BotToken, fake.SigningSecret, fake.APIURL))
	rewrite(t, filepath.Join(filepath.Dir(config), "policies", "oncall.yaml"), "name: oncall\n", "name: oncall\nslack_channel: X0GONE\n")
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
