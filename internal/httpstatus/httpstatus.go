// Package httpstatus maps Klaxon's errors to HTTP status codes, the one
// map that every HTTP edge answers with: the API, and the provider
// callbacks it mounts but that cannot import it.
package httpstatus

import (
	"context"
	"errors"
	"net/http"

	"github.com/klaxonhq/klaxon"
)

// ClientClosed answers a request whose client went away before it was
// done, as nginx logs it: not a server error, and nobody reads it.
const ClientClosed = 499

// Of returns the status code of err: 400 for bad input, 401 for a
// missing or wrong credential, 404, 409, 410 for an act already used,
// 413 for a body over its limit, 503 while the store cannot read or
// write, or did not in the time a request gives it (a deadline that
// ended: the same request later may succeed), and 500 for anything else.
func Of(err error) int {
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge), errors.Is(err, klaxon.ErrTooLarge):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, klaxon.ErrInvalid):
		return http.StatusBadRequest
	case errors.Is(err, klaxon.ErrUnauthorized):
		return http.StatusUnauthorized
	case errors.Is(err, klaxon.ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, klaxon.ErrUsed), errors.Is(err, klaxon.ErrOutdated):
		return http.StatusGone
	case errors.Is(err, klaxon.ErrConflict):
		return http.StatusConflict
	case errors.Is(err, klaxon.ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
		return http.StatusServiceUnavailable
	case errors.Is(err, context.Canceled):
		return ClientClosed
	}
	return http.StatusInternalServerError
}
