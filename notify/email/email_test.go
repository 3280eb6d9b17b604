package email_test

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/mail"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/smtptest"
	"github.com/klaxonhq/klaxon/notify/email"
)

const public = "https://klaxon.example.com"

var (
	t0   = time.Date(2026, 11, 23, 22, 0, 0, 0, time.UTC)
	page = klaxon.Page{
		Incident: "42", Notification: 3, Via: klaxon.ViaEmail,
		User:    klaxon.User{ID: "alice", Email: "alice@example.com"},
		Summary: "5xx ratio above 5% on payments", Severity: "critical", Alerts: 2,
	}
)

func newEmail(t *testing.T, srv *smtptest.Server, o email.Options) (*email.Email, *email.Links) {
	t.Helper()
	return newEmailAt(t, srv.Host(), srv.Port(), o)
}

func newEmailAt(t *testing.T, host string, port int, o email.Options) (*email.Email, *email.Links) {
	t.Helper()
	links := email.NewLinks([]byte("test secret"), time.Hour, func() time.Time { return t0 })
	o.Host, o.Port, o.PublicURL, o.Links = host, port, public, links
	if o.From == "" {
		o.From = "Klaxon <klaxon@example.com>"
	}
	if o.TLS == "" {
		o.TLS = email.TLSNone
	}
	e, err := email.New(o)
	require.NoError(t, err)
	return e, links
}

// parsed is a received mail, decoded.
type parsed struct {
	header mail.Header
	text   string
	html   string
}

func parse(t *testing.T, m smtptest.Message) parsed {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(m.Data))
	require.NoError(t, err)
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	require.NoError(t, err)
	require.Equal(t, "multipart/alternative", mt)
	out := parsed{header: msg.Header}
	r := multipart.NewReader(msg.Body, params["boundary"])
	for {
		part, err := r.NextPart()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		body, err := io.ReadAll(part)
		require.NoError(t, err)
		ct, _, _ := mime.ParseMediaType(part.Header.Get("Content-Type"))
		switch ct {
		case "text/plain":
			out.text = string(body)
		case "text/html":
			out.html = string(body)
		}
	}
	return out
}

var linkRE = regexp.MustCompile(regexp.QuoteMeta(public+email.AckPath) + `([A-Za-z0-9_-]+)`)

func TestSend(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{Username: "klaxon", Password: "s3cret"})
	e, links := newEmail(t, srv, email.Options{Username: "klaxon", Password: "s3cret"})
	require.NoError(t, e.Send(t.Context(), page))

	m := srv.WaitMessage(t)
	require.Equal(t, "klaxon@example.com", m.From)
	require.Equal(t, []string{"alice@example.com"}, m.To)
	got := parse(t, m)
	subject, err := new(mime.WordDecoder).DecodeHeader(got.header.Get("Subject"))
	require.NoError(t, err)
	require.Equal(t, "[Klaxon #42] CRITICAL 5xx ratio above 5% on payments", subject)
	require.Equal(t, "42", got.header.Get("X-Klaxon-Incident"))
	require.Equal(t, "auto-generated", got.header.Get("Auto-Submitted"))

	for name, body := range map[string]string{"text": got.text, "html": got.html} {
		t.Run(name, func(t *testing.T) {
			require.Contains(t, body, "5xx ratio above 5% on payments")
			require.Contains(t, body, "#42")
			require.Contains(t, body, "critical")
			require.Regexp(t, `2 alerts`, body)
			found := linkRE.FindAllStringSubmatch(body, -1)
			require.Len(t, found, 2, body)
			var actions []string
			for _, f := range found {
				claims, err := links.Verify(f[1])
				require.NoError(t, err)
				require.Equal(t, "42", claims.Incident)
				require.Equal(t, "alice", claims.User)
				actions = append(actions, claims.Action)
			}
			require.Equal(t, []string{email.ActionAck, email.ActionResolve}, actions)
		})
	}
	require.Contains(t, got.text, "Acknowledge: "+public+email.AckPath)
	require.Contains(t, got.html, `<a href="`+public+email.AckPath)
}

func TestSendEscapesHTML(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{})
	e, _ := newEmail(t, srv, email.Options{})
	p := page
	p.Summary = `<script>alert("x")</script> & more`
	p.Alerts = 1
	require.NoError(t, e.Send(t.Context(), p))
	got := parse(t, srv.WaitMessage(t))
	require.NotContains(t, got.html, "<script>")
	require.Contains(t, got.html, "&lt;script&gt;")
	require.Contains(t, got.text, `<script>alert("x")</script> & more`, "plain text stays as is")
	require.Contains(t, got.text, "1 alert\r\n")
}

func TestSendRefused(t *testing.T) {
	tests := []struct {
		name      string
		code      int
		times     int
		delivered bool
		retryable bool
	}{
		{"mailbox unavailable", 550, 1, false, false},
		{"try again later, once", 451, 1, true, false},
		{"try again later, always", 451, -1, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := smtptest.Start(t, smtptest.Options{})
			e, _ := newEmail(t, srv, email.Options{})
			srv.Refuse(tt.code, "refused for the test", tt.times)
			err := e.Send(t.Context(), page)
			if tt.delivered {
				require.NoError(t, err)
				require.Len(t, srv.Messages(), 1)
				return
			}
			require.Error(t, err)
			require.Empty(t, srv.Messages())
			var re interface{ Retryable() bool }
			require.ErrorAs(t, err, &re)
			require.Equal(t, tt.retryable, re.Retryable(), err.Error())
		})
	}
}

func TestSendWrongPassword(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{Username: "klaxon", Password: "s3cret"})
	e, _ := newEmail(t, srv, email.Options{Username: "klaxon", Password: "wrong"})
	err := e.Send(t.Context(), page)
	require.Error(t, err)
	var re interface{ Retryable() bool }
	require.ErrorAs(t, err, &re)
	require.False(t, re.Retryable())
	require.NotContains(t, err.Error(), "wrong")
	require.Empty(t, srv.Messages())
}

func TestSendStartTLSRequired(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{})
	e, _ := newEmail(t, srv, email.Options{TLS: email.TLSStartTLS})
	require.Error(t, e.Send(t.Context(), page), "the test server offers no STARTTLS")
	require.Empty(t, srv.Messages())
}

func TestSendServerDown(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := l.Addr().(*net.TCPAddr).Port
	require.NoError(t, l.Close())

	e, _ := newEmailAt(t, "127.0.0.1", port, email.Options{})
	err = e.Send(t.Context(), page)
	var re interface{ Retryable() bool }
	require.ErrorAs(t, err, &re)
	require.True(t, re.Retryable(), err.Error())
}

// TestSendRelayFailsAnswer: a relay that answers its greeting with a
// temporary refusal, or goes away in the middle, fails the page for now
// (tried again); one that refuses its greeting for good fails it for good.
func TestSendRelayFailsAnswer(t *testing.T) {
	for _, tt := range []struct {
		name      string
		greeting  string
		drop      string // the command after which the relay goes away
		retryable bool
	}{
		{"greeting 421", "421 4.3.2 Too many connections, try again later", "", true},
		{"greeting 554", "554 5.7.1 No service for you", "", false},
		{"gone after the greeting", "220 relay ready", "EHLO", true},
		{"gone after MAIL FROM", "220 relay ready", "MAIL FROM", true},
		{"gone after DATA", "220 relay ready", "DATA", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			host, port := rawSMTP(t, tt.greeting, func(cmd string) string {
				switch {
				case tt.drop != "" && strings.HasPrefix(cmd, tt.drop):
					return ""
				case strings.HasPrefix(cmd, "EHLO"), strings.HasPrefix(cmd, "HELO"):
					return "250 relay"
				}
				return "250 ok"
			})
			e, _ := newEmailAt(t, host, port, email.Options{})
			err := e.Send(t.Context(), page)
			var re interface{ Retryable() bool }
			require.ErrorAs(t, err, &re)
			require.Equal(t, tt.retryable, re.Retryable(), err.Error())
		})
	}
}

// rawSMTP runs a relay that says greeting, then answers each command line
// with answer's line; "" drops the connection. After a 354 to DATA it
// reads the mail up to its final dot, and answers answer(".").
func rawSMTP(t *testing.T, greeting string, answer func(cmd string) string) (string, int) {
	t.Helper()
	return rawSMTPEach(t, func() string { return greeting }, answer)
}

// rawSMTPEach is rawSMTP that asks greeting for each connection's
// greeting, when it comes.
func rawSMTPEach(t *testing.T, greeting func() string, answer func(cmd string) string) (string, int) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func(c net.Conn) {
				defer c.Close()
				serveRaw(c, greeting(), answer)
			}(c)
		}
	}()
	a := l.Addr().(*net.TCPAddr)
	return a.IP.String(), a.Port
}

// serveRaw is rawSMTP's side of one connection c.
func serveRaw(c net.Conn, greeting string, answer func(cmd string) string) {
	if _, err := c.Write([]byte(greeting + "\r\n")); err != nil || !strings.HasPrefix(greeting, "2") {
		return
	}
	r := bufio.NewReader(c)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		a := answer(strings.TrimSpace(line))
		if a == "" {
			return
		}
		if _, err := c.Write([]byte(a + "\r\n")); err != nil {
			return
		}
		if strings.HasPrefix(a, "354") {
			for line != ".\r\n" {
				if line, err = r.ReadString('\n'); err != nil {
					return
				}
			}
			if a = answer("."); a == "" {
				return
			}
			if _, err := c.Write([]byte(a + "\r\n")); err != nil {
				return
			}
		}
	}
}

// TestSendTakenThenQuitFails: once the relay has answered 250 to the
// end of DATA, the mail is the relay's (RFC 5321 4.1.1.4): a QUIT refused
// after it (a throttling relay closes with a 421) or cut says nothing of
// the mail, and the page is sent, once. Sent again, the person got the
// same mail three times a try, and the page was on record as failed.
func TestSendTakenThenQuitFails(t *testing.T) {
	for _, tt := range []struct{ name, quit string }{
		{"221 to QUIT", "221 bye"},
		{"421 to QUIT", "421 4.7.0 too many messages, closing connection"},
		{"dropped at QUIT", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var taken atomic.Int32
			host, port := rawSMTP(t, "220 relay ready", func(cmd string) string {
				switch {
				case strings.HasPrefix(cmd, "EHLO"), strings.HasPrefix(cmd, "HELO"):
					return "250 relay"
				case cmd == "DATA":
					return "354 go ahead"
				case cmd == ".":
					taken.Add(1)
					return "250 2.0.0 queued"
				case cmd == "QUIT":
					return tt.quit
				}
				return "250 ok"
			})
			e, _ := newEmailAt(t, host, port, email.Options{})
			require.NoError(t, e.Send(t.Context(), page))
			require.Equal(t, int32(1), taken.Load(), "mails the relay took for one page")
		})
	}
}

func TestSendNoAddress(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{})
	e, _ := newEmail(t, srv, email.Options{})
	p := page
	p.User.Email = ""
	require.ErrorIs(t, e.Send(t.Context(), p), klaxon.ErrInvalid)
}

func TestSendCanceled(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{})
	e, _ := newEmail(t, srv, email.Options{})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	require.Error(t, e.Send(ctx, page))
	require.Empty(t, srv.Messages())
}

func TestNewChecksOptions(t *testing.T) {
	links := email.NewLinks([]byte("k"), 0, nil)
	ok := email.Options{Host: "smtp.example.com", From: "klaxon@example.com", PublicURL: public, Links: links}
	tests := []struct {
		name   string
		change func(*email.Options)
	}{
		{"no host", func(o *email.Options) { o.Host = "" }},
		{"bad port", func(o *email.Options) { o.Port = 70000 }},
		{"bad from", func(o *email.Options) { o.From = "not an address" }},
		{"bad tls", func(o *email.Options) { o.TLS = "ssl" }},
		{"no links", func(o *email.Options) { o.Links = nil }},
		{"no public url", func(o *email.Options) { o.PublicURL = "" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := ok
			tt.change(&o)
			_, err := email.New(o)
			require.ErrorIs(t, err, klaxon.ErrInvalid)
		})
	}
	_, err := email.New(ok)
	require.NoError(t, err)
}

func TestSubject(t *testing.T) {
	require.Equal(t, "[Klaxon #7] disk full", email.Subject(klaxon.Page{Incident: "7", Summary: "disk\tfull"}))
	require.Equal(t, "[Klaxon #7] WARNING disk full on db-1", email.Subject(klaxon.Page{Incident: "7", Severity: "warning", Summary: "disk full\r\non  db-1"}))
}
