package web

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func testConsole(t testing.TB, now time.Time) *Console {
	c, err := New(Options{Key: []byte("0123456789abcdef0123456789abcdef"), Now: func() time.Time { return now }})
	require.NoError(t, err)
	return c
}

func TestSessionRoundTrip(t *testing.T) {
	now := time.Date(2026, 11, 27, 4, 0, 0, 0, time.UTC)
	c := testConsole(t, now)
	s := session{Kind: KindToken, Name: "ops", Token: c.fingerprint("secret"), Expires: now.Add(time.Hour).Unix(), ID: "abc"}
	v := c.encode(s)
	got, ok := c.decode(v)
	require.True(t, ok)
	require.Equal(t, s, got)
	require.NotContains(t, v, "secret")

	other, err := New(Options{Key: []byte("another key, as long as the first"), Now: c.now})
	require.NoError(t, err)
	_, ok = other.decode(v)
	require.False(t, ok, "a session signed with another key")

	for name, bad := range map[string]string{
		"no signature":      strings.Split(v, ".")[0],
		"signature cut":     v[:len(v)-2],
		"payload changed":   "x" + v,
		"empty":             "",
		"only a dot":        ".",
		"signature of none": "." + strings.Split(v, ".")[1],
	} {
		_, ok := c.decode(bad)
		require.False(t, ok, name)
	}
	_, ok = testConsole(t, now.Add(time.Hour)).decode(v)
	require.False(t, ok, "expired")

	_, err = New(Options{Key: []byte("short")})
	require.ErrorContains(t, err, "a key of 5 bytes, want at least 32")
}

func TestLocalPath(t *testing.T) {
	for in, want := range map[string]string{
		"/incidents/7?x=1":     "/incidents/7?x=1",
		"":                     "/",
		"incidents":            "/",
		"//evil.example":       "/",
		`/\evil.example`:       "/",
		"https://evil.example": "/",
		"/\t/evil.example":     "/",
		"/\r\n/evil.example":   "/",
		"/a\\b":                "/",
		"/incidents?next=//x":  "/incidents?next=//x",
	} {
		require.Equal(t, want, localPath(in), in)
	}
}

// FuzzSessionCookie: whatever a client sends as its cookie, decoding
// never panics, and accepts only what the console signed.
func FuzzSessionCookie(f *testing.F) {
	now := time.Date(2026, 11, 27, 4, 0, 0, 0, time.UTC)
	c := testConsole(f, now)
	want := session{Kind: KindUser, Name: "alice", Token: c.fingerprint("t"), Expires: now.Add(time.Hour).Unix(), ID: "1"}
	signed := c.encode(want)
	for _, seed := range []string{signed, signed + "x", "e30.", "e30.AAAA", "", ".", "..", strings.Repeat("a", 300)} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, v string) {
		s, ok := c.decode(v)
		if ok {
			// Base64 without padding may accept another spelling of the
			// signature's bytes, never another session.
			require.Equal(t, want, s, "accepted an unsigned cookie %q", v)
		}
	})
}
