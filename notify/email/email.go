// Package email pages by mail through an SMTP relay, with signed links to
// acknowledge or resolve the incident from the mail.
package email

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/mail"
	"net/textproto"
	"net/url"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	gomail "github.com/wneessen/go-mail"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/notify"
)

// TLS modes, as in the notify.smtp configuration.
const (
	TLSStartTLS = "starttls" // upgrade a plain connection; refuse a server without STARTTLS
	TLSImplicit = "tls"      // TLS from the start (port 465)
	TLSNone     = "none"     // plain text: for a local relay only
)

// Link actions.
const (
	ActionAck     = "ack"
	ActionResolve = "resolve"
)

// AckPath is where mail links point, under Options.PublicURL, followed by
// the token.
const AckPath = "/v1/ack/"

// Retries of a send that fails with a retryable error: attempts in all,
// and the wait before the second, doubled before each next one.
const (
	attempts    = 3
	baseBackoff = 100 * time.Millisecond
)

// Options configure the SMTP relay and the links in the mail.
type Options struct {
	Host string
	// Port defaults to 587, or 465 with TLS "tls".
	Port     int
	Username string
	Password string
	// From is the sender address, like "Klaxon <klaxon@example.com>".
	From string
	// TLS is TLSStartTLS (the default), TLSImplicit or TLSNone.
	TLS string
	// PublicURL is Klaxon's base URL as responders reach it.
	PublicURL string
	// Links signs the acknowledge and resolve links.
	Links *Links
	// Timeout bounds connecting to the relay; 0 is 15 s.
	Timeout time.Duration
	// Now is the clock of the pause after a 421 (default time.Now).
	Now func() time.Time

	// rootCAs are the authorities the relay's certificate is checked
	// against; nil for the system's. Tests set it (export_test.go).
	rootCAs *x509.CertPool
}

// Email sends pages by mail. It is safe for concurrent use.
type Email struct {
	o       Options
	from    *mail.Address
	host    string // the right part of Message-IDs: public_url's host
	backoff time.Duration
	pause   pause // after a 421: see pause.go
}

var _ notify.Channel = (*Email)(nil)

// New checks o and returns an Email.
func New(o Options) (*Email, error) {
	if o.Host == "" {
		return nil, klaxon.Invalid("host", "required")
	}
	switch o.TLS {
	case "":
		o.TLS = TLSStartTLS
		if o.Port == 465 {
			o.TLS = TLSImplicit
		}
	case TLSStartTLS, TLSImplicit, TLSNone:
	default:
		return nil, klaxon.Invalid("tls", "unknown mode %q: want starttls, tls or none", o.TLS)
	}
	if o.Port == 0 {
		o.Port = 587
		if o.TLS == TLSImplicit {
			o.Port = 465
		}
	}
	if o.Port < 1 || o.Port > 65535 {
		return nil, klaxon.Invalid("port", "must be from 1 to 65535")
	}
	from, err := mail.ParseAddress(o.From)
	if err != nil {
		return nil, klaxon.Invalid("from", "bad address %q", o.From)
	}
	if o.Links == nil {
		return nil, klaxon.Invalid("links", "required")
	}
	if !strings.HasPrefix(o.PublicURL, "http://") && !strings.HasPrefix(o.PublicURL, "https://") {
		return nil, klaxon.Invalid("public_url", "bad URL %q: want http:// or https://", o.PublicURL)
	}
	o.PublicURL = strings.TrimRight(o.PublicURL, "/")
	host := from.Address[strings.LastIndexByte(from.Address, '@')+1:]
	if u, err := url.Parse(o.PublicURL); err == nil && u.Hostname() != "" {
		host = u.Hostname()
	}
	if o.Timeout <= 0 {
		o.Timeout = 15 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Email{o: o, from: from, host: msgIDHost(host), backoff: baseBackoff}, nil
}

// Send mails p to p.User.Email, again after a retryable error, up to three
// attempts with 100 ms, then 200 ms between them. The error is an *Error,
// a *klaxon.DeferredError while the relay's 421 pauses the channel (see
// pause.go), or matches klaxon.ErrInvalid when the user has no usable
// address.
func (e *Email) Send(ctx context.Context, p klaxon.Page) error {
	to, err := mail.ParseAddress(p.User.Email)
	if err != nil {
		return klaxon.Invalid("email", "user %s has no usable email address", p.User.ID)
	}
	id := e.messageID(p)
	err = notify.Retry(ctx, attempts, e.backoff, func() error {
		started := e.o.Now()
		if until, held := e.pause.holds(started); held {
			return &klaxon.DeferredError{Until: until}
		}
		msg, err := e.message(p, to, id)
		if err != nil {
			return err
		}
		serr := e.send(ctx, msg)
		switch {
		case serr == nil:
			e.pause.taken()
			return nil
		case closing(serr):
			// Longer than notify.MaxInlineWait: the page goes back to
			// the engine, which tries it again after the pause.
			serr.wait = e.pause.refused(started, e.o.Now())
		}
		return serr
	})
	if err != nil {
		return fmt.Errorf("mail incident %s to %s: %w", p.Incident, p.User.ID, err)
	}
	return nil
}

// send makes one attempt over a new connection.
func (e *Email) send(ctx context.Context, msg *gomail.Msg) *Error {
	// go-mail's own TLS config, which WithDialContextFunc below makes
	// its STARTTLS's alone.
	tlsConfig := &tls.Config{ServerName: e.o.Host, MinVersion: tls.VersionTLS12, RootCAs: e.o.rootCAs}
	opts := []gomail.Option{
		gomail.WithPort(e.o.Port),
		gomail.WithTimeout(e.o.Timeout),
		gomail.WithTLSConfig(tlsConfig),
	}
	auth := gomail.SMTPAuthPlain
	switch e.o.TLS {
	case TLSStartTLS:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	case TLSImplicit:
		opts = append(opts, gomail.WithSSL())
	case TLSNone:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
		auth = gomail.SMTPAuthPlainNoEnc
	}
	if e.o.Username != "" {
		opts = append(opts, gomail.WithSMTPAuth(auth),
			gomail.WithUsername(e.o.Username), gomail.WithPassword(e.o.Password))
	}
	// go-mail heeds ctx only while it dials: past that, a relay that
	// stops answering (in the middle of the mail, or after its end)
	// holds the try up to the connection's deadline, and longer than
	// the page's own (--page-timeout), after which the engine takes the
	// page for lost and may send it again. So the end of ctx closes
	// the connection, which ends any read or write on it.
	// The connection is closed on every way out: go-mail closes it only
	// on a 221 to QUIT, and not when a greeting, EHLO, STARTTLS or AUTH
	// fails; a relay that answers otherwise, or not at all, would keep
	// it open until the collector found it.
	stop := func() bool { return false }
	var dialed net.Conn
	defer func() {
		stop()
		if dialed != nil {
			_ = dialed.Close()
		}
	}()
	opts = append(opts, gomail.WithDialContextFunc(func(dctx context.Context, network, addr string) (net.Conn, error) {
		var d net.Dialer
		conn, err := d.DialContext(dctx, network, addr)
		if err != nil {
			return nil, err
		}
		dialed = conn
		stop = context.AfterFunc(ctx, func() { _ = conn.Close() })
		if e.o.TLS != TLSImplicit {
			return conn, nil
		}
		// As go-mail's own dialer does with WithSSL.
		tc := tls.Client(conn, tlsConfig)
		if err := tc.HandshakeContext(dctx); err != nil {
			_ = conn.Close()
			return nil, err
		}
		return tc, nil
	}))
	c, err := gomail.NewClient(e.o.Host, opts...)
	if err != nil {
		return &Error{Err: fmt.Errorf("smtp client: %w", err)}
	}
	client, err := c.DialToSMTPClientWithContext(ctx)
	if err != nil {
		return classify(ctx, fmt.Errorf("dial: %w", err))
	}
	err = c.SendWithSMTPClient(client, msg)
	// Once the relay answered 250 to the end of the mail, the mail is its
	// own (RFC 5321 4.1.1.4): a QUIT refused or cut after it (a throttling
	// relay closes with a 421) says nothing of the mail, and sending it
	// again would page twice. Its error is the connection's, not the page's.
	_ = c.CloseWithSMTPClient(client)
	if err != nil {
		return classify(ctx, fmt.Errorf("send: %w", err))
	}
	return nil
}

// Error is a mail the relay did not take.
type Error struct {
	Err       error
	temporary bool
	wait      time.Duration // the pause a 421 set, from the refusal
}

// Error is the failure with every mail address in it masked (MaskAddress):
// relays echo the recipient, and go-mail names it, but the engine logs
// this text.
func (e *Error) Error() string { return MaskAddresses(e.Err.Error()) }

// addressRE matches a mail address as mail.ParseAddress takes one, and
// so a user's config may give it: a local part of atoms or quoted, in
// UTF-8 too (SMTPUTF8: an atom takes any character past ASCII, a
// symbol or a no-break space as well as a letter), and a domain of
// labels, an IDN's in UTF-8 too, or a literal ([192.0.2.10]).
var addressRE = regexp.MustCompile(`(?:"(?:[^"\\\r\n]|\\.)*"|[A-Za-z0-9.!#$%&'*+/=?^_\x60{|}~\x{80}-\x{10FFFF}-]+)@(?:[\p{L}\p{M}\p{N}-]+(?:\.[\p{L}\p{M}\p{N}-]+)*|\[[^\]\s]*\])`)

// MaskAddress keeps a mail address's first character and its domain:
// alice@example.com is a…@example.com, "alice smith"@example.com too.
func MaskAddress(addr string) string {
	at := strings.LastIndexByte(addr, '@')
	if at <= 0 {
		return addr
	}
	local, domain := strings.TrimLeft(addr[:at], `"`), addr[at+1:]
	_, n := utf8.DecodeRuneInString(local)
	return local[:n] + "…@" + domain
}

// MaskAddresses masks every mail address in s with MaskAddress.
func MaskAddresses(s string) string {
	if !strings.Contains(s, "@") {
		return s
	}
	return addressRE.ReplaceAllStringFunc(s, MaskAddress)
}

func (e *Error) Unwrap() error { return e.Err }

// Retryable reports whether sending again may work: the relay could not
// be reached, or answered with a temporary (4xx) error. A permanent (5xx)
// refusal, a failed login or a TLS mismatch will not change.
func (e *Error) Retryable() bool { return e.temporary }

// Wait is how long the relay's 421 paused the channel from the refusal
// (klaxon.WaitOf): the page is tried again no sooner. 0 for any other
// failure.
func (e *Error) Wait() time.Duration { return e.wait }

func classify(ctx context.Context, err error) *Error {
	if ctx.Err() != nil {
		// Given up on, not refused: the relay may still take the mail.
		return &Error{Err: fmt.Errorf("%w, waiting for the relay: %w", ctx.Err(), err)}
	}
	var se *gomail.SendError
	if errors.As(err, &se) {
		return &Error{Err: err, temporary: sendTemporary(se)}
	}
	var te *textproto.Error // the relay's answer before any mail: its greeting, EHLO, AUTH
	if errors.As(err, &te) {
		return &Error{Err: err, temporary: te.Code >= 400 && te.Code < 500}
	}
	var ne net.Error
	var oe *net.OpError
	return &Error{Err: err, temporary: errors.As(err, &oe) || (errors.As(err, &ne) && ne.Timeout()) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)}
}

// sendTemporary reports whether a failure to send a mail may pass: the
// relay answered 4xx, or went away in the middle (no answer: go-mail then
// takes the failure for permanent, as it only reads codes). A mail
// go-mail could not build, or that the relay refused 5xx, will not change.
func sendTemporary(se *gomail.SendError) bool {
	switch code := se.ErrorCode(); {
	case code >= 500:
		return false
	case code >= 400:
		return true
	}
	switch se.Reason {
	case gomail.ErrGetSender, gomail.ErrGetRcpts, gomail.ErrNoUnencoded:
		return false
	}
	return true
}
