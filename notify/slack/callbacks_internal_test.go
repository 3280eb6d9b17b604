package slack

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestTrusted: answers go to Slack's response URLs, and to the test
// base's, and nowhere else a payload may name.
func TestTrusted(t *testing.T) {
	c := NewCallbacks(CallbackOptions{ResponseURLBase: "http://127.0.0.1:8099/response/"})
	tests := []struct {
		url  string
		want bool
	}{
		{"https://hooks.slack.com/actions/T0/1234/abcd", true},
		{"https://hooks.slack-gov.com/actions/T0/1234/abcd", true},
		{"http://127.0.0.1:8099/response/r1", true},
		{"", false},
		{"http://hooks.slack.com/actions/T0/1234/abcd", false},
		{"https://hooks.slack.com:8443/actions/T0/1234/abcd", false},
		{"https://user@hooks.slack.com/actions/T0/1234/abcd", false},
		{"https://hooks.slack.com.evil.example/actions", false},
		{"https://evil.example/hooks.slack.com/", false},
		{"http://127.0.0.1:8099/responsex", false},
		{"http://127.0.0.1:8098/response/r1", false},
	}
	for _, tc := range tests {
		t.Run(tc.url, func(t *testing.T) {
			require.Equal(t, tc.want, c.trusted(tc.url))
		})
	}
}
