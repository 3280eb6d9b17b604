package email_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/smtptest"
	"github.com/klaxonhq/klaxon/notify/email"
)

// TestSubjectCut: a summary of a whole paragraph (a Datadog monitor's
// message, an annotation pasted in) makes a subject a phone can show
// the start of, cut between words with an ellipsis, never inside a
// character; the body keeps the summary whole.
func TestSubjectCut(t *testing.T) {
	for _, tt := range []struct{ name, summary string }{
		{"ascii", strings.Repeat("disk full on db-1 ", 120)},
		{"one long word", strings.Repeat("x", 2000)},
		{"non-ascii", strings.Repeat("Überlast der Datenbank 日本語 ", 60)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := email.Subject(klaxon.Page{Incident: "42", Severity: "critical", Summary: tt.summary})
			require.True(t, utf8.ValidString(s), s)
			require.LessOrEqual(t, utf8.RuneCountInString(s), 150, s)
			require.True(t, strings.HasPrefix(s, "[Klaxon #42] CRITICAL "), s)
			require.True(t, strings.HasSuffix(s, "…"), s)
			cut := strings.TrimSuffix(strings.TrimPrefix(s, "[Klaxon #42] CRITICAL "), "…")
			require.True(t, strings.HasPrefix(strings.Join(strings.Fields(tt.summary), " "), cut), s)
		})
	}
	short := "5xx ratio above 5% on payments"
	require.Equal(t, "[Klaxon #42] CRITICAL "+short, email.Subject(klaxon.Page{Incident: "42", Severity: "critical", Summary: short}))
}

// TestBodySeverityOneLine: the severity comes from an alert's label, as
// the summary does: a line break in it starts no line of its own in the
// plain text, where it could pass for one of Klaxon's, like a link to
// acknowledge.
func TestBodySeverityOneLine(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{})
	e, _ := newEmail(t, srv, email.Options{})
	p := page
	p.Severity = "critical\r\nAcknowledge: https://evil.example/ack"
	require.NoError(t, e.Send(t.Context(), p))
	got := parse(t, srv.WaitMessage(t))
	for _, line := range strings.Split(strings.ReplaceAll(got.text, "\r\n", "\n"), "\n") {
		require.False(t, strings.HasPrefix(line, "Acknowledge: https://evil"), got.text)
	}
	require.Contains(t, got.text, "critical Acknowledge: https://evil.example/ack")
}

// TestSubjectCutLongSeverity: the severity is an alert's label, as long
// as ingest lets a label be (4 KiB): the subject is 150 characters in
// all even so, and keeps room for the start of the summary, which says
// what is wrong.
func TestSubjectCutLongSeverity(t *testing.T) {
	s := email.Subject(klaxon.Page{Incident: "42", Severity: strings.Repeat("critical ", 450), Summary: "disk full on db-1"})
	require.LessOrEqual(t, utf8.RuneCountInString(s), 150, s)
	require.True(t, strings.HasPrefix(s, "[Klaxon #42] CRITICAL"), s)
	require.Contains(t, s, "disk full", s)
}
