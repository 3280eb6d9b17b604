package twilio

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/twilio/twilio-go/client"

	"github.com/klaxonhq/klaxon"
)

// SignatureHeader carries Twilio's signature of a callback.
const SignatureHeader = "X-Twilio-Signature"

// maxCallbackBytes bounds a callback body; Twilio's are a few hundred bytes.
const maxCallbackBytes = 64 << 10

// Validate checks that r is a callback from Twilio signed with authToken,
// and returns its form fields. Twilio signs the URL it was given, which is
// publicURL followed by r's path and query, so a proxy in front of Klaxon
// does not break the check. The error matches klaxon.ErrUnauthorized when
// the signature is missing or wrong, klaxon.ErrInvalid or
// klaxon.ErrTooLarge when the body is not a form or too large.
func Validate(r *http.Request, publicURL, authToken string) (url.Values, error) {
	if r.Body != nil {
		r.Body = http.MaxBytesReader(nil, r.Body, maxCallbackBytes)
	}
	if err := r.ParseForm(); err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, fmt.Errorf("twilio callback: %w", klaxon.ErrTooLarge)
		}
		return nil, fmt.Errorf("twilio callback: %w: %w", klaxon.ErrInvalid, err)
	}
	sig := r.Header.Get(SignatureHeader)
	if sig == "" {
		return nil, fmt.Errorf("twilio callback: no %s header: %w", SignatureHeader, klaxon.ErrUnauthorized)
	}
	params := make(map[string]string, len(r.PostForm))
	for k, v := range r.PostForm {
		params[k] = v[0]
	}
	full := signedURL(r, publicURL)
	v := client.NewRequestValidator(authToken)
	if !v.Validate(full, params, sig) {
		return nil, fmt.Errorf("twilio callback: bad signature: %w", klaxon.ErrUnauthorized)
	}
	// The signature holds for other cuts of the signed string into a URL
	// and fields (see signedKey): the end of the URL's query moved into
	// the first field's name ("n=12" and "ErrorCode" as "n=1" and
	// "2ErrorCode") makes a report of page 12 one of page 1. Twilio's
	// field names start with a letter, and Klaxon's URLs end in a number.
	for k := range r.PostForm {
		if k == "" || !('A' <= k[0] && k[0] <= 'Z' || 'a' <= k[0] && k[0] <= 'z') {
			return nil, fmt.Errorf("twilio callback: field %q is none of Twilio's: a signed request cut otherwise: %w", k, klaxon.ErrUnauthorized)
		}
	}
	return r.PostForm, nil
}

// signedURL is the URL Twilio signed a callback r with: publicURL,
// followed by r's path and query.
func signedURL(r *http.Request, publicURL string) string {
	return strings.TrimRight(publicURL, "/") + r.URL.RequestURI()
}

// signedKey names what Twilio signed of callback r, whose form Validate
// parsed: the URL, then each field's name and value, in the order of the
// names, with nothing between them, hashed. Nothing between them means
// that the same signed string, so the same signature, holds for other
// cuts of it into a URL and fields ("MessageSid=SM5..." sent as a field
// "MessageSidSM5..." with no value, "n=12" then "ErrorCode" as "n=1" then
// "2ErrorCode"). A callback's memory kept by the signed string knows a
// replay however it is cut; one kept by a field (MessageSid) did not.
func signedKey(r *http.Request, publicURL string) string {
	return signedKeyOf(signedURL(r, publicURL), r.PostForm)
}

// signedKeyOf is signedKey of a callback to fullURL with form.
func signedKeyOf(fullURL string, form url.Values) string {
	h := sha256.New()
	h.Write([]byte(fullURL))
	for _, k := range slices.Sorted(maps.Keys(form)) {
		h.Write([]byte(k))
		h.Write([]byte(form.Get(k)))
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}
