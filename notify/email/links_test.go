package email

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/fakeclock"
)

var (
	secret = []byte("0123456789abcdef0123456789abcdef")
	t0     = time.Date(2026, 11, 23, 22, 0, 0, 0, time.UTC)
)

func TestLinksRoundTrip(t *testing.T) {
	c := fakeclock.New(t0)
	l := NewLinks(secret, time.Hour, c.Now)
	tests := []struct {
		incident string
		page     int
		user     string
		action   string
	}{
		{"42", 1, "alice", ActionAck},
		{"42", 3, "alice", ActionResolve},
		{"1", 1 << 20, "bob", "escalate"},
		{"", 0, "", ""},
		{"with/slash?and=query&x", 7, "ünïcödé user", "ack"},
		{strings.Repeat("9", 300), 128, strings.Repeat("u", 200), "ack"},
	}
	for _, tt := range tests {
		t.Run(tt.incident+"/"+tt.user+"/"+tt.action, func(t *testing.T) {
			token := l.Sign(tt.incident, tt.page, tt.user, tt.action)
			require.Regexp(t, `^[A-Za-z0-9_-]+$`, token, "URL-safe")
			got, err := l.Verify(token)
			require.NoError(t, err)
			require.Equal(t, LinkClaims{Incident: tt.incident, Page: tt.page, User: tt.user, Action: tt.action, Expires: t0.Add(time.Hour)}, got)
		})
	}
}

func TestLinksExpire(t *testing.T) {
	c := fakeclock.New(t0)
	l := NewLinks(secret, 30*time.Minute, c.Now)
	token := l.Sign("42", 1, "alice", ActionAck)

	c.Set(t0.Add(30*time.Minute - time.Second))
	_, err := l.Verify(token)
	require.NoError(t, err)

	for _, at := range []time.Duration{30 * time.Minute, 31 * time.Minute, 48 * time.Hour} {
		c.Set(t0.Add(at))
		_, err = l.Verify(token)
		require.EqualError(t, err, "link expired at 2026-11-23T22:30:00Z")
		require.ErrorIs(t, err, klaxon.ErrUnauthorized)
		var exp *ExpiredError
		require.ErrorAs(t, err, &exp)
		require.Equal(t, t0.Add(30*time.Minute), exp.At)
	}
}

func TestLinksDefaults(t *testing.T) {
	l := NewLinks(secret, 0, nil)
	require.Equal(t, DefaultLinkTTL, l.TTL())
	// The expiry is signed in whole seconds, from the real clock: between
	// the second before the link was signed and the time after.
	before := time.Now().Truncate(time.Second)
	token := l.Sign("42", 1, "alice", ActionAck)
	after := time.Now()
	claims, err := l.Verify(token)
	require.NoError(t, err)
	require.False(t, claims.Expires.Before(before.Add(DefaultLinkTTL)), "expires %s", claims.Expires)
	require.False(t, claims.Expires.After(after.Add(DefaultLinkTTL)), "expires %s", claims.Expires)
	require.Panics(t, func() { NewLinks(nil, time.Hour, nil) })
}

// Every field, changed after signing, breaks the signature.
func TestLinksTampered(t *testing.T) {
	c := fakeclock.New(t0)
	l := NewLinks(secret, time.Hour, c.Now)
	orig := LinkClaims{Incident: "42", Page: 2, User: "alice", Action: ActionAck, Expires: t0.Add(time.Hour)}
	token := l.Sign(orig.Incident, orig.Page, orig.User, orig.Action)
	raw, err := base64.RawURLEncoding.DecodeString(token)
	require.NoError(t, err)
	mac := raw[len(raw)-macSize:]

	tests := []struct {
		name   string
		change func(*LinkClaims)
	}{
		{"incident", func(c *LinkClaims) { c.Incident = "43" }},
		{"page", func(c *LinkClaims) { c.Page = 7 }},
		{"user", func(c *LinkClaims) { c.User = "mallory" }},
		{"action", func(c *LinkClaims) { c.Action = ActionResolve }},
		{"expiry", func(c *LinkClaims) { c.Expires = c.Expires.Add(365 * 24 * time.Hour) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			forged := orig
			tt.change(&forged)
			p := encodeClaims(forged)
			_, err := l.Verify(base64.RawURLEncoding.EncodeToString(append(p, mac...)))
			require.ErrorIs(t, err, klaxon.ErrUnauthorized)
			require.ErrorContains(t, err, "bad signature")
		})
	}

	t.Run("each byte flipped", func(t *testing.T) {
		for i := range raw {
			b := append([]byte(nil), raw...)
			b[i] ^= 0x01
			_, err := l.Verify(base64.RawURLEncoding.EncodeToString(b))
			require.ErrorIs(t, err, klaxon.ErrUnauthorized, "byte %d", i)
		}
	})
	t.Run("other secret", func(t *testing.T) {
		other := NewLinks([]byte("another secret"), time.Hour, c.Now)
		_, err := other.Verify(token)
		require.ErrorIs(t, err, klaxon.ErrUnauthorized)
	})
	t.Run("mac cut short", func(t *testing.T) {
		_, err := l.Verify(base64.RawURLEncoding.EncodeToString(raw[:len(raw)-1]))
		require.ErrorIs(t, err, klaxon.ErrUnauthorized)
	})
}

func TestLinksMalformed(t *testing.T) {
	c := fakeclock.New(t0)
	l := NewLinks(secret, time.Hour, c.Now)
	signed := func(p []byte) string { return base64.RawURLEncoding.EncodeToString(append(p, l.mac(p)...)) }
	good := encodeClaims(LinkClaims{Incident: "42", Page: 1, User: "alice", Action: "ack", Expires: t0.Add(time.Hour)})

	tests := []struct {
		name  string
		token string
	}{
		{"empty", ""},
		{"not base64url", "abc+/def"},
		{"padded", l.Sign("42", 1, "alice", "ack") + "=="},
		{"too short", base64.RawURLEncoding.EncodeToString(make([]byte, macSize))},
		{"unknown version", signed(append([]byte{3}, good[1:]...))},
		{"version 1, without a page", signed([]byte{1, 2, '4', '2', 5, 'a', 'l', 'i', 'c', 'e', 3, 'a', 'c', 'k', 0x80, 0x80, 0x80, 0x80, 0x08})},
		{"empty payload", signed(nil)},
		{"truncated field", signed(good[:4])},
		{"length past the end", signed([]byte{linkVersion, 0x7f, 'x'})},
		{"trailing bytes", signed(append(append([]byte(nil), good...), 0))},
		{"no page", signed([]byte{linkVersion, 0, 0, 0})},
		{"no expiry", signed([]byte{linkVersion, 0, 0, 0, 1})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := l.Verify(tt.token)
			require.ErrorIs(t, err, klaxon.ErrInvalid)
			require.False(t, errors.Is(err, klaxon.ErrUnauthorized))
		})
	}
}
