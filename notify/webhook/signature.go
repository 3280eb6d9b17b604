package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
)

// Signature headers of a page sent with a secret. Receivers recompute the
// signature with Verify and reject a timestamp far from their clock (more
// than five minutes, say), so that a captured request cannot be replayed.
const (
	SignatureHeader = "X-Klaxon-Signature"
	TimestampHeader = "X-Klaxon-Timestamp"
)

const signaturePrefix = "sha256="

// Sign returns the X-Klaxon-Signature value of body sent at timestamp (Unix
// seconds): "sha256=" and the hex HMAC-SHA256, keyed with secret, of the
// timestamp in decimal, a dot, and body.
func Sign(secret string, timestamp int64, body []byte) string {
	return signaturePrefix + hex.EncodeToString(mac(secret, timestamp, body))
}

// Verify reports whether header is the signature of body sent at timestamp
// with secret, comparing in constant time. It is false for an empty secret,
// which anybody could sign with.
func Verify(secret, header string, timestamp int64, body []byte) bool {
	if secret == "" {
		return false
	}
	hexSig, ok := strings.CutPrefix(header, signaturePrefix)
	if !ok {
		return false
	}
	got, err := hex.DecodeString(hexSig)
	if err != nil {
		return false
	}
	return hmac.Equal(got, mac(secret, timestamp, body))
}

func mac(secret string, timestamp int64, body []byte) []byte {
	h := hmac.New(sha256.New, []byte(secret))
	h.Write(strconv.AppendInt(nil, timestamp, 10))
	h.Write([]byte{'.'})
	h.Write(body)
	return h.Sum(nil)
}
