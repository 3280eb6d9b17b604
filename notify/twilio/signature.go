package twilio

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
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
	full := strings.TrimRight(publicURL, "/") + r.URL.RequestURI()
	v := client.NewRequestValidator(authToken)
	if !v.Validate(full, params, sig) {
		return nil, fmt.Errorf("twilio callback: bad signature: %w", klaxon.ErrUnauthorized)
	}
	return r.PostForm, nil
}
