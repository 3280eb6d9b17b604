package twilio

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
)

func TestParseReply(t *testing.T) {
	tests := []struct {
		body string
		want Reply
	}{
		{"42A", Reply{Incident: "42", Action: ActionAck}},
		{"42a", Reply{Incident: "42", Action: ActionAck}},
		{" 42 a ", Reply{Incident: "42", Action: ActionAck}},
		{"4a", Reply{Incident: "4", Action: ActionAck}}, // the fixture's body
		{"#42A", Reply{Incident: "42", Action: ActionAck}},
		{"42A.", Reply{Incident: "42", Action: ActionAck}},
		{"042a", Reply{Incident: "42", Action: ActionAck}},
		{"0a", Reply{Incident: "0", Action: ActionAck}},
		{"42 ack", Reply{Incident: "42", Action: ActionAck}},
		{"42R", Reply{Incident: "42", Action: ActionResolve}},
		{"42 resolve", Reply{Incident: "42", Action: ActionResolve}},
		{"42e", Reply{Incident: "42", Action: ActionEscalate}},
		{"42 ESC", Reply{Incident: "42", Action: ActionEscalate}},
		{"A", Reply{Action: ActionAck}},
		{"a", Reply{Action: ActionAck}},
		{"ack", Reply{Action: ActionAck}},
		{"R", Reply{Action: ActionResolve}},
		{"e", Reply{Action: ActionEscalate}},
		{"AA", Reply{Action: ActionAck, All: true}},
		{" a a ", Reply{Action: ActionAck, All: true}},
		{"STOP", Reply{Action: ActionStop, Keyword: "STOP"}},
		{"stop", Reply{Action: ActionStop, Keyword: "STOP"}},
		{"Stop all", Reply{Action: ActionStop, Keyword: "STOP ALL"}},
		{"STOPALL", Reply{Action: ActionStop, Keyword: "STOPALL"}},
		{"unsubscribe", Reply{Action: ActionStop, Keyword: "UNSUBSCRIBE"}},
		{"Cancel", Reply{Action: ActionStop, Keyword: "CANCEL"}},
		{"end", Reply{Action: ActionStop, Keyword: "END"}},
		{"quit", Reply{Action: ActionStop, Keyword: "QUIT"}},
		{"START", Reply{Action: ActionStart, Keyword: "START"}},
		{"yes", Reply{Action: ActionStart, Keyword: "YES"}},
		{"UNSTOP", Reply{Action: ActionStart, Keyword: "UNSTOP"}},
		{"help", Reply{Action: ActionHelp, Keyword: "HELP"}},
		{"info", Reply{Action: ActionHelp, Keyword: "INFO"}},
	}
	for _, tt := range tests {
		t.Run(tt.body, func(t *testing.T) {
			got, err := ParseReply(tt.body)
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestParseReplyRejects(t *testing.T) {
	for _, body := range []string{
		"", " ", "42", "42X", "X", "A42", "42AR", "AAA", "stop please", "ok thanks",
		"4 2 a b", "-42A", "42.5A", "123456789012345678901A", "call me at +15550100001",
	} {
		t.Run(body, func(t *testing.T) {
			_, err := ParseReply(body)
			require.ErrorIs(t, err, klaxon.ErrInvalid)
			require.ErrorContains(t, err, ReplyHelp)
			require.NotContains(t, err.Error(), "+15550100001")
		})
	}
}

func TestReplyHelpFitsOneSegment(t *testing.T) {
	n, ok := septets(ReplyHelp)
	require.True(t, ok)
	require.LessOrEqual(t, n, segmentSeptets)
}

func TestParseDigit(t *testing.T) {
	tests := []struct {
		digits string
		want   Action
		ok     bool
	}{
		{"1", ActionAck, true},
		{"2", ActionResolve, true},
		{"3", ActionEscalate, true},
		{"*", ActionRepeat, true},
		{" 1 ", ActionAck, true},
		{"", "", false},
		{"0", "", false},
		{"4", "", false},
		{"#", "", false},
		{"12", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.digits, func(t *testing.T) {
			got, ok := ParseDigit(tt.digits)
			require.Equal(t, tt.ok, ok)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestSMSReply(t *testing.T) {
	got, err := SMSReply("Incident 42 acknowledged.")
	require.NoError(t, err)
	require.Equal(t, `<?xml version="1.0" encoding="UTF-8"?><Response><Message>Incident 42 acknowledged.</Message></Response>`, got)

	got, err = SMSReply("")
	require.NoError(t, err)
	require.Equal(t, `<?xml version="1.0" encoding="UTF-8"?><Response/>`, got)
}
