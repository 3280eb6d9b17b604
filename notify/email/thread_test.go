package email_test

import (
	"bytes"
	"mime"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/smtptest"
	"github.com/klaxonhq/klaxon/notify/email"
)

// TestMailsOfAnIncidentThread: the pages and status updates of one
// incident are one conversation in the responder's mail app, as GitHub's
// notifications of one issue are. Gmail threads mails that have the same
// subject (a "Re: " aside) and References naming the same Message-ID;
// Outlook threads by the subject. Each mail has a Message-ID of its own;
// another incident's mails are another thread.
func TestMailsOfAnIncidentThread(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{})
	e, _ := newEmail(t, srv, email.Options{})
	bob := page
	bob.Notification, bob.User = 4, klaxon.User{ID: "bob", Email: "bob@example.com"}
	update := func(kind, text string) klaxon.Page {
		return klaxon.Page{Incident: page.Incident, User: page.User, Via: klaxon.ViaEmail, Summary: page.Summary,
			Severity: page.Severity, Alerts: page.Alerts, Update: kind, Text: text}
	}
	other := page
	other.Incident, other.Summary = "43", "disk full on db-1"

	type header struct{ subject, id, inReplyTo, references string }
	read := func() header {
		t.Helper()
		m, err := mail.ReadMessage(bytes.NewReader(srv.WaitMessage(t).Data))
		require.NoError(t, err)
		subject, err := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
		require.NoError(t, err)
		return header{subject, m.Header.Get("Message-ID"), m.Header.Get("In-Reply-To"), m.Header.Get("References")}
	}
	var got []header
	for _, p := range []klaxon.Page{
		update("opened", "Incident #42 opened: "+page.Summary),
		page, bob,
		update("acknowledged", "Incident #42 acknowledged by alice: "+page.Summary),
		update("resolved", "Incident #42 resolved by alice: "+page.Summary),
		other,
	} {
		require.NoError(t, e.Send(t.Context(), p))
		got = append(got, read())
	}

	first := got[0]
	require.NotEmpty(t, first.references, "References name the incident's thread")
	ids := map[string]bool{}
	for i, h := range got {
		require.Regexp(t, `^<[^<>@\s]+@[^<>@\s]+>$`, h.id, "mail %d", i)
		require.False(t, ids[h.id], "mail %d: a Message-ID of its own", i)
		ids[h.id] = true
		require.Equal(t, h.references, h.inReplyTo, "mail %d", i)
		if i == len(got)-1 {
			require.NotEqual(t, first.references, h.references, "another incident, another thread")
			continue
		}
		require.Equal(t, first.references, h.references, "mail %d: the incident's thread", i)
		require.Equal(t, "[Klaxon #42] CRITICAL 5xx ratio above 5% on payments", strings.TrimPrefix(h.subject, "Re: "), "mail %d", i)
	}
}

// TestThreadTellsIncidentsOfOneNumberApart: a store that is reset
// numbers its incidents from 1 again, so a new #42 may follow an old
// one in the same mailbox. Mail apps that thread by References alone
// (Thunderbird, Apple Mail, mutt) would then show the new incident's
// pages in the old one's conversation, under its resolution. The thread
// is the incident's, of its number and of when it opened: one for all
// the pages and status updates of one incident, another for another
// incident of the same number.
func TestThreadTellsIncidentsOfOneNumberApart(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{})
	e, _ := newEmail(t, srv, email.Options{})
	references := func(p klaxon.Page) string {
		t.Helper()
		require.NoError(t, e.Send(t.Context(), p))
		m, err := mail.ReadMessage(bytes.NewReader(srv.WaitMessage(t).Data))
		require.NoError(t, err)
		require.Equal(t, m.Header.Get("References"), m.Header.Get("In-Reply-To"))
		require.NotEmpty(t, m.Header.Get("References"))
		return m.Header.Get("References")
	}
	old := page
	old.Opened = t0.Add(-30 * 24 * time.Hour)
	oldUpdate := klaxon.Page{Incident: old.Incident, Opened: old.Opened, User: old.User, Via: klaxon.ViaEmail,
		Summary: old.Summary, Update: "resolved", Text: "Incident #42 resolved by alice: " + old.Summary}
	root := references(old)
	require.Equal(t, root, references(oldUpdate), "a status update of the incident is in its thread")

	reset := page
	reset.Opened = t0
	resetBob := reset
	resetBob.Notification, resetBob.User = 4, klaxon.User{ID: "bob", Email: "bob@example.com"}
	resetUpdate := oldUpdate
	resetUpdate.Opened, resetUpdate.Update = reset.Opened, "acknowledged"
	newRoot := references(reset)
	require.NotEqual(t, root, newRoot, "#42 after a store reset is another thread than the #42 before it")
	require.Equal(t, newRoot, references(resetBob), "the incident's pages are one thread")
	require.Equal(t, newRoot, references(resetUpdate), "and its status updates too")
}
