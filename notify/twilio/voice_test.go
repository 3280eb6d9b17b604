package twilio

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestVoiceTwiML(t *testing.T) {
	got, err := VoiceTwiML(VoicePrompt{
		PublicURL:    "https://klaxon.example.com/",
		Incident:     "42",
		Notification: 3,
		Summary:      "5xx ratio > 5% on payments & checkout",
		Severity:     "critical",
		Alerts:       2,
	})
	require.NoError(t, err)
	want := `<?xml version="1.0" encoding="UTF-8"?>` +
		`<Response>` +
		`<Gather action="https://klaxon.example.com/v1/twilio/voice?incident=42&amp;n=3&amp;step=gather" finishOnKey="" method="POST" numDigits="1" timeout="10">` +
		`<Say>This is Klaxon. Incident 42, critical: 5xx ratio &gt; 5% on payments &amp; checkout. 2 alerts firing.</Say>` +
		`<Say>Press 1 to acknowledge, 2 to resolve, 3 to escalate, star to repeat.</Say>` +
		`</Gather>` +
		`<Gather action="https://klaxon.example.com/v1/twilio/voice?incident=42&amp;n=3&amp;step=gather" finishOnKey="" method="POST" numDigits="1" timeout="10">` +
		`<Say>Again. This is Klaxon. Incident 42, critical: 5xx ratio &gt; 5% on payments &amp; checkout. 2 alerts firing.</Say>` +
		`<Say>Press 1 to acknowledge, 2 to resolve, 3 to escalate, star to repeat.</Say>` +
		`</Gather>` +
		`<Say>No key was pressed. Goodbye.</Say>` +
		`<Hangup/>` +
		`</Response>`
	require.Equal(t, want, got)

	// Attributes come out in one order, whatever the map order.
	for range 20 {
		again, err := VoiceTwiML(VoicePrompt{PublicURL: "https://klaxon.example.com/", Incident: "42", Notification: 3,
			Summary: "5xx ratio > 5% on payments & checkout", Severity: "critical", Alerts: 2})
		require.NoError(t, err)
		require.Equal(t, want, again)
	}
}

func TestVoiceTwiMLOneAlertNoSeverity(t *testing.T) {
	got, err := VoiceTwiML(VoicePrompt{PublicURL: "http://127.0.0.1:8080", Incident: "7", Notification: 1, Summary: "Disk full.", Alerts: 1})
	require.NoError(t, err)
	require.Contains(t, got, `<Say>This is Klaxon. Incident 7: Disk full. 1 alert firing.</Say>`)
}

func TestVoiceReply(t *testing.T) {
	got, err := VoiceReply("Incident 42 acknowledged. Goodbye.")
	require.NoError(t, err)
	require.Equal(t, `<?xml version="1.0" encoding="UTF-8"?><Response><Say>Incident 42 acknowledged. Goodbye.</Say><Hangup/></Response>`, got)
}

func TestCallbackURLs(t *testing.T) {
	const base = "https://klaxon.example.com/"
	require.Equal(t, "https://klaxon.example.com/v1/twilio/voice?incident=42&n=3", VoiceURL(base, "42", 3))
	require.Equal(t, "https://klaxon.example.com/v1/twilio/voice?incident=42&n=3&step=gather", GatherURL(base, "42", 3))
	require.Equal(t, "https://klaxon.example.com/v1/twilio/status?incident=42&n=3", StatusURL(base, "42", 3))
	require.True(t, strings.HasSuffix(VoiceURL(base, "a&b", 1), "incident=a%26b&n=1"))
}

func TestMaskPhone(t *testing.T) {
	for in, want := range map[string]string{
		"+15550100001":     "+*******0001",
		"+44 20 7946 0958": "+********0958",
		"1234":             "1234",
		"":                 "",
	} {
		t.Run(in, func(t *testing.T) { require.Equal(t, want, MaskPhone(in)) })
	}
	require.Equal(t, "The 'To' number +*******0001 is not valid.", MaskPhones("The 'To' number +15550100001 is not valid."))
}
