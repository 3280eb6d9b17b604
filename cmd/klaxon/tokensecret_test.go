package main

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestTokenNeverPrinted: the API token from KLAXON_API_TOKEN is a secret;
// a command's --help, or the usage a wrong flag prints, pasted into a
// ticket or a chat, must not carry it.
func TestTokenNeverPrinted(t *testing.T) {
	const secret = "s3cret-prod-token-0123456789abcdef"
	t.Setenv("KLAXON_API_TOKEN", secret)
	t.Setenv("KLAXON_SERVER", "http://127.0.0.1:1")
	for _, args := range [][]string{
		{"incidents", "--help"},
		{"incidents", "--no-such-flag"},
		{"incident", "show", "--help"},
		{"incident", "export", "-h"},
		{"ack", "--help"},
		{"snooze", "1", "-5m"}, // a negative duration reads as a flag
		{"note", "--help"},
		{"oncall", "--help"},
		{"schedule", "show", "--help"},
		{"override", "--help"},
		{"maintenance", "list", "--help"},
		{"report", "--help"},
		{"test-page", "--help"},
	} {
		var out, errOut bytes.Buffer
		_ = run(t.Context(), args, &out, &errOut)
		require.NotContains(t, out.String()+errOut.String(), secret, "klaxon %q prints the token", args)
		require.Contains(t, errOut.String(), "-token", "klaxon %q still tells of --token", args)
	}
}
