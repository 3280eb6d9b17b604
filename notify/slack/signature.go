package slack

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/klaxonhq/klaxon"
)

// Headers of a request Slack signs.
const (
	SignatureHeader = "X-Slack-Signature"
	TimestampHeader = "X-Slack-Request-Timestamp"
)

// MaxSkew is how far a signed request's timestamp may be from now, either
// way, as Slack advises: an older one may be a replay.
const MaxSkew = 5 * time.Minute

// maxCallbackBytes bounds a callback's body; a button press carries the
// message it was pressed in, a few KiB.
const maxCallbackBytes = 1 << 20

// Verify reads r's body and checks that it is a request from Slack,
// signed with secret as Slack signs: the X-Slack-Signature header is "v0="
// and the hex HMAC-SHA256, keyed with secret, of "v0:", the
// X-Slack-Request-Timestamp header, ":" and the body; and the timestamp
// is within MaxSkew of now. It returns the body. The error matches
// klaxon.ErrUnauthorized when the signature is missing, wrong or stale,
// klaxon.ErrTooLarge when the body is too large.
//
// slack-go's SecretsVerifier checks the same, against the wall clock;
// Verify takes the time, so that tests need not sleep.
func Verify(r *http.Request, secret string, now time.Time) ([]byte, error) {
	if secret == "" {
		return nil, fmt.Errorf("slack callback: no signing secret: %w", klaxon.ErrUnauthorized)
	}
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxCallbackBytes))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, fmt.Errorf("slack callback: %w", klaxon.ErrTooLarge)
		}
		return nil, fmt.Errorf("slack callback: read body: %w", err)
	}
	sig, stamp := r.Header.Get(SignatureHeader), r.Header.Get(TimestampHeader)
	if sig == "" || stamp == "" {
		return nil, fmt.Errorf("slack callback: no %s or %s header: %w", SignatureHeader, TimestampHeader, klaxon.ErrUnauthorized)
	}
	ts, err := strconv.ParseInt(stamp, 10, 64)
	if err != nil {
		return nil, fmt.Errorf("slack callback: bad %s %q: %w", TimestampHeader, stamp, klaxon.ErrUnauthorized)
	}
	if skew := now.Sub(time.Unix(ts, 0)); skew > MaxSkew || skew < -MaxSkew {
		when := "old"
		if skew < 0 {
			skew, when = -skew, "ahead of this clock"
		}
		return nil, fmt.Errorf("slack callback: timestamp %s is %s %s, more than %s: %w",
			time.Unix(ts, 0).UTC().Format(time.RFC3339), skew.Round(time.Second), when, MaxSkew, klaxon.ErrUnauthorized)
	}
	got, err := hex.DecodeString(strings.TrimPrefix(sig, "v0="))
	if !strings.HasPrefix(sig, "v0=") || err != nil || !hmac.Equal(got, signature(secret, stamp, body)) {
		return nil, fmt.Errorf("slack callback: bad signature: %w", klaxon.ErrUnauthorized)
	}
	return body, nil
}

// Sign is Slack's signature of body sent at timestamp ts (Unix seconds),
// without its "v0=" and hex: the HMAC-SHA256, keyed with secret, of
// "v0:<ts>:<body>".
func Sign(secret string, ts int64, body []byte) []byte {
	return signature(secret, strconv.FormatInt(ts, 10), body)
}

// signature is the HMAC of body sent with the timestamp header stamp,
// which Slack signs as it sent it.
func signature(secret, stamp string, body []byte) []byte {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte("v0:" + stamp + ":"))
	mac.Write(body)
	return mac.Sum(nil)
}
