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
		{"42A", Reply{Incident: "42", Action: klaxon.ActionAck}},
		{"42a", Reply{Incident: "42", Action: klaxon.ActionAck}},
		{" 42 a ", Reply{Incident: "42", Action: klaxon.ActionAck}},
		{"4a", Reply{Incident: "4", Action: klaxon.ActionAck}}, // the fixture's body
		{"#42A", Reply{Incident: "42", Action: klaxon.ActionAck}},
		{"42A.", Reply{Incident: "42", Action: klaxon.ActionAck}},
		{"042a", Reply{Incident: "42", Action: klaxon.ActionAck}},
		{"0a", Reply{Incident: "0", Action: klaxon.ActionAck}},
		{"42 ack", Reply{Incident: "42", Action: klaxon.ActionAck}},
		{"42R", Reply{Incident: "42", Action: klaxon.ActionResolve}},
		{"42 resolve", Reply{Incident: "42", Action: klaxon.ActionResolve}},
		{"42e", Reply{Incident: "42", Action: klaxon.ActionEscalate}},
		{"42 ESC", Reply{Incident: "42", Action: klaxon.ActionEscalate}},
		{"A", Reply{Action: klaxon.ActionAck}},
		{"a", Reply{Action: klaxon.ActionAck}},
		{"ack", Reply{Action: klaxon.ActionAck}},
		{"R", Reply{Action: klaxon.ActionResolve}},
		{"e", Reply{Action: klaxon.ActionEscalate}},
		{"AA", Reply{Action: klaxon.ActionAck, All: true}},
		{"42N the disk is full", Reply{Incident: "42", Note: "the disk is full"}},
		{"#42 n Rolled back.", Reply{Incident: "42", Note: "Rolled back."}},
		{"n on it\nwith two lines", Reply{Note: "on it\nwith two lines"}},
		{" a a ", Reply{Action: klaxon.ActionAck, All: true}},
		{"STOP", Reply{Keyword: KeywordStop, Word: "STOP"}},
		{"stop", Reply{Keyword: KeywordStop, Word: "STOP"}},
		{"Stop all", Reply{Keyword: KeywordStop, Word: "STOP ALL"}},
		{"STOPALL", Reply{Keyword: KeywordStop, Word: "STOPALL"}},
		{"unsubscribe", Reply{Keyword: KeywordStop, Word: "UNSUBSCRIBE"}},
		{"Cancel", Reply{Keyword: KeywordStop, Word: "CANCEL"}},
		{"end", Reply{Keyword: KeywordStop, Word: "END"}},
		{"quit", Reply{Keyword: KeywordStop, Word: "QUIT"}},
		{"START", Reply{Keyword: KeywordStart, Word: "START"}},
		{"yes", Reply{Keyword: KeywordStart, Word: "YES"}},
		{"UNSTOP", Reply{Keyword: KeywordStart, Word: "UNSTOP"}},
		{"help", Reply{Keyword: KeywordHelp, Word: "HELP"}},
		{"info", Reply{Keyword: KeywordHelp, Word: "INFO"}},
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
		"4 2 a b", "-42A", "42N", "42N  ", "42 note", "42.5A", "123456789012345678901A", "call me at +15550100001",
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
		want   klaxon.Action
		ok     bool
	}{
		{"1", klaxon.ActionAck, true},
		{"2", klaxon.ActionResolve, true},
		{"3", klaxon.ActionEscalate, true},
		{"*", "", false},
		{" 1 ", klaxon.ActionAck, true},
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
