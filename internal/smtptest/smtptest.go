// Package smtptest is an SMTP server for tests: it runs in process on a
// free loopback port, accepts mail (with AUTH PLAIN when asked), records
// every message, and refuses recipients on demand.
package smtptest

import (
	"crypto/tls"
	"errors"
	"io"
	"log"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// WaitTimeout bounds WaitMessage.
const WaitTimeout = 10 * time.Second

// Options configure a Server.
type Options struct {
	// Username and Password, when Username is set, make AUTH PLAIN
	// required before MAIL FROM; the server offers AUTH without TLS.
	Username string
	Password string
	// TLS, when set, has the server offer STARTTLS with it, and AUTH
	// only over TLS; with Implicit, the server speaks TLS from the
	// first byte, as on port 465.
	TLS      *tls.Config
	Implicit bool
}

// Message is a message the server accepted.
type Message struct {
	From string
	To   []string
	// Data is the message as sent: headers, blank line, body.
	Data []byte
}

// Server is a running SMTP server. Its methods are safe for concurrent
// use; WaitMessage must be called from the test's goroutine.
type Server struct {
	opts Options
	srv  *smtp.Server
	addr *net.TCPAddr

	mu       sync.Mutex
	messages []Message
	taken    int
	refuse   *smtp.SMTPError
	refusals int // left; <0 for always
	changed  chan struct{}
}

// Start runs a server until the test ends.
func Start(t testing.TB, o Options) *Server {
	t.Helper()
	s := &Server{opts: o, changed: make(chan struct{})}
	s.srv = smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) {
		return &session{s: s}, nil
	}))
	s.srv.Domain = "localhost"
	s.srv.AllowInsecureAuth = o.TLS == nil
	if !o.Implicit {
		s.srv.TLSConfig = o.TLS
	}
	s.srv.ReadTimeout = 10 * time.Second
	s.srv.WriteTimeout = 10 * time.Second
	s.srv.MaxMessageBytes = 1 << 20
	s.srv.ErrorLog = log.New(io.Discard, "", 0)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("smtptest: listen: %v", err)
	}
	s.addr = l.Addr().(*net.TCPAddr)
	if o.Implicit {
		l = tls.NewListener(l, o.TLS)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = s.srv.Serve(l) // returns smtp.ErrServerClosed after Close
	}()
	t.Cleanup(func() {
		_ = s.srv.Close()
		_ = l.Close() // in case Serve had not started yet: Close did not see l
		<-done
	})
	return s
}

// Host is the address the server listens on: 127.0.0.1.
func (s *Server) Host() string { return s.addr.IP.String() }

// Port is the port the server listens on.
func (s *Server) Port() int { return s.addr.Port }

// Addr is host:port.
func (s *Server) Addr() string { return s.addr.String() }

// Refuse makes the server answer the next times RCPT TO commands (all of
// them if times < 0) with code and message, like 550 "mailbox
// unavailable" or 451 "try again later".
func (s *Server) Refuse(code int, message string, times int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refuse = &smtp.SMTPError{Code: code, Message: message}
	s.refusals = times
}

// Messages returns every message accepted so far.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.messages...)
}

// Untaken returns the messages that WaitMessage has not returned.
func (s *Server) Untaken() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.messages[s.taken:]...)
}

// WaitMessage returns the next message that WaitMessage has not returned
// yet, waiting up to WaitTimeout for it; the test fails if none comes.
func (s *Server) WaitMessage(t testing.TB) Message {
	t.Helper()
	deadline := time.NewTimer(WaitTimeout)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		if s.taken < len(s.messages) {
			m := s.messages[s.taken]
			s.taken++
			s.mu.Unlock()
			return m
		}
		changed := s.changed
		s.mu.Unlock()
		select {
		case <-changed:
		case <-deadline.C:
			t.Fatalf("smtptest: no message within %v", WaitTimeout)
		}
	}
}

func (s *Server) record(m Message) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.messages = append(s.messages, m)
	close(s.changed)
	s.changed = make(chan struct{})
}

// refusal is the answer to refuse a recipient with, or nil.
func (s *Server) refusal() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.refuse == nil || s.refusals == 0 {
		return nil
	}
	if s.refusals > 0 {
		s.refusals--
	}
	return s.refuse
}

// session is one SMTP connection.
type session struct {
	s      *Server
	authed bool
	msg    Message
}

var _ smtp.AuthSession = (*session)(nil)

func (ss *session) AuthMechanisms() []string {
	if ss.s.opts.Username == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (ss *session) Auth(mech string) (sasl.Server, error) {
	if mech != sasl.Plain || ss.s.opts.Username == "" {
		return nil, smtp.ErrAuthUnknownMechanism
	}
	return sasl.NewPlainServer(func(identity, username, password string) error {
		if username != ss.s.opts.Username || password != ss.s.opts.Password {
			return smtp.ErrAuthFailed
		}
		ss.authed = true
		return nil
	}), nil
}

func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	if ss.s.opts.Username != "" && !ss.authed {
		return smtp.ErrAuthRequired
	}
	ss.msg = Message{From: from}
	return nil
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if err := ss.s.refusal(); err != nil {
		return err
	}
	ss.msg.To = append(ss.msg.To, to)
	return nil
}

func (ss *session) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if len(ss.msg.To) == 0 {
		return errors.New("no recipients")
	}
	ss.msg.Data = data
	ss.s.record(ss.msg)
	ss.msg = Message{}
	return nil
}

func (ss *session) Reset() { ss.msg = Message{} }

func (ss *session) Logout() error { return nil }
