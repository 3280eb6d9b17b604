package email

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/klaxonhq/klaxon"
)

// DefaultLinkTTL is how long a link stays valid when NewLinks is given no
// TTL.
const DefaultLinkTTL = 24 * time.Hour

// A token is base64url (no padding) of payload || HMAC-SHA256(secret,
// linkDomain || payload). The payload is a version byte, then incident,
// user and action, each a uvarint length and the bytes, then the page
// (the incident's notification number) and the expiry in Unix seconds,
// each a uvarint. Version 1 had no page; its tokens are refused.
const (
	linkVersion = 2
	macSize     = sha256.Size
)

// linkDomain keeps these MACs apart from any other use of the secret.
var linkDomain = []byte("klaxon/email-link\x00")

// Links signs and verifies the tokens in mail links: each names an
// incident, the page it came with, a user and an action, and expires. Safe for concurrent use.
type Links struct {
	secret []byte
	ttl    time.Duration
	now    func() time.Time
}

// LinkClaims are what a verified token says.
type LinkClaims struct {
	Incident string
	// Page is the notification of the incident the link was mailed
	// with: a link of a page sent before the incident last triggered
	// again no longer acts.
	Page    int
	User    string
	Action  string
	Expires time.Time
}

// ExpiredError is a valid link past its expiry. It matches
// klaxon.ErrUnauthorized.
type ExpiredError struct {
	At time.Time
	// Claims are what the link says: its signature was good.
	Claims LinkClaims
}

func (e *ExpiredError) Error() string {
	return "link expired at " + e.At.UTC().Format(time.RFC3339)
}

// Is makes errors.Is(err, klaxon.ErrUnauthorized) true.
func (e *ExpiredError) Is(target error) bool { return target == klaxon.ErrUnauthorized }

// NewLinks returns Links keyed with secret, whose tokens expire ttl after
// signing (DefaultLinkTTL if ttl <= 0); now is the clock (time.Now if
// nil). It panics if secret is empty: the links would be forgeable.
func NewLinks(secret []byte, ttl time.Duration, now func() time.Time) *Links {
	if len(secret) == 0 {
		panic("email: NewLinks with an empty secret")
	}
	if ttl <= 0 {
		ttl = DefaultLinkTTL
	}
	if now == nil {
		now = time.Now
	}
	return &Links{secret: append([]byte(nil), secret...), ttl: ttl, now: now}
}

// TTL is how long a token stays valid after Sign.
func (l *Links) TTL() time.Duration { return l.ttl }

// Sign returns a URL-safe token letting user take action on incident,
// for its notification page, until the TTL runs out.
func (l *Links) Sign(incident string, page int, user, action string) string {
	p := encodeClaims(LinkClaims{Incident: incident, Page: page, User: user, Action: action, Expires: l.now().Add(l.ttl)})
	return base64.RawURLEncoding.EncodeToString(append(p, l.mac(p)...))
}

func encodeClaims(c LinkClaims) []byte {
	p := []byte{linkVersion}
	for _, f := range []string{c.Incident, c.User, c.Action} {
		p = binary.AppendUvarint(p, uint64(len(f)))
		p = append(p, f...)
	}
	p = binary.AppendUvarint(p, uint64(max(c.Page, 0)))
	return binary.AppendUvarint(p, uint64(max(c.Expires.Unix(), 0)))
}

// Verify checks token and returns its claims. The error matches
// klaxon.ErrInvalid when the token is malformed, klaxon.ErrUnauthorized
// when its signature is wrong, and is an *ExpiredError (which matches
// klaxon.ErrUnauthorized too) when it has expired.
func (l *Links) Verify(token string) (LinkClaims, error) {
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return LinkClaims{}, fmt.Errorf("link token: not base64url: %w", klaxon.ErrInvalid)
	}
	if len(raw) <= macSize {
		return LinkClaims{}, fmt.Errorf("link token: too short: %w", klaxon.ErrInvalid)
	}
	p, sig := raw[:len(raw)-macSize], raw[len(raw)-macSize:]
	if !hmac.Equal(sig, l.mac(p)) {
		return LinkClaims{}, fmt.Errorf("link token: bad signature: %w", klaxon.ErrUnauthorized)
	}
	c, err := decodeClaims(p)
	if err != nil {
		return LinkClaims{}, fmt.Errorf("link token: %w: %w", klaxon.ErrInvalid, err)
	}
	if !l.now().Before(c.Expires) {
		return LinkClaims{}, &ExpiredError{At: c.Expires, Claims: c}
	}
	return c, nil
}

func (l *Links) mac(payload []byte) []byte {
	m := hmac.New(sha256.New, l.secret)
	m.Write(linkDomain)
	m.Write(payload)
	return m.Sum(nil)
}

var errPayload = errors.New("bad payload")

func decodeClaims(p []byte) (LinkClaims, error) {
	if len(p) == 0 || p[0] != linkVersion {
		return LinkClaims{}, errors.New("unknown version")
	}
	p = p[1:]
	var fields [3]string
	for i := range fields {
		n, k := binary.Uvarint(p)
		if k <= 0 || n > uint64(len(p)-k) {
			return LinkClaims{}, errPayload
		}
		fields[i] = string(p[k : k+int(n)])
		p = p[k+int(n):]
	}
	page, k := binary.Uvarint(p)
	if k <= 0 || page > 1<<31 {
		return LinkClaims{}, errPayload
	}
	p = p[k:]
	exp, k := binary.Uvarint(p)
	if k <= 0 || k != len(p) || exp > 1<<62 {
		return LinkClaims{}, errPayload
	}
	return LinkClaims{
		Incident: fields[0],
		Page:     int(page),
		User:     fields[1],
		Action:   fields[2],
		Expires:  time.Unix(int64(exp), 0).UTC(),
	}, nil
}
