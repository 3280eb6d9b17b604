package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/klaxonhq/klaxon"
)

// statusError is an error with its own status code, for the few errors
// born at the HTTP edge (a wrong Content-Type, an unknown path).
type statusError struct {
	code  int
	field string // the field at fault, if any
	msg   string
}

func (e *statusError) Error() string { return e.msg }

func errorf(code int, format string, args ...any) error {
	return &statusError{code: code, msg: fmt.Sprintf(format, args...)}
}

// status maps an error to its HTTP status code. It is the one place that
// does.
func status(err error) int {
	var se *statusError
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &se):
		return se.code
	case errors.As(err, &tooLarge), errors.Is(err, klaxon.ErrTooLarge):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, klaxon.ErrInvalid):
		return http.StatusBadRequest
	case errors.Is(err, klaxon.ErrUnauthorized):
		return http.StatusUnauthorized
	case errors.Is(err, klaxon.ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, klaxon.ErrUsed):
		return http.StatusGone
	case errors.Is(err, klaxon.ErrConflict):
		return http.StatusConflict
	case errors.Is(err, klaxon.ErrUnavailable):
		return http.StatusServiceUnavailable
	case errors.Is(err, context.Canceled):
		return statusClientClosed
	default:
		return http.StatusInternalServerError
	}
}

// errorBody is the JSON of every error the API returns.
type errorBody struct {
	Error string `json:"error"`
	Field string `json:"field,omitempty"`
}

// writeError answers with err's status and JSON body; it logs errors that
// are the server's fault, once, here at the edge.
func writeError(w http.ResponseWriter, log *slog.Logger, err error) {
	code := status(err)
	retryAfter(w, code)
	body := errorBody{Error: err.Error()}
	var fe *klaxon.FieldError
	var se *statusError
	switch {
	case errors.As(err, &fe):
		body.Field = fe.Field
	case errors.As(err, &se):
		body.Field = se.field
	}
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		body.Error = fmt.Sprintf("body larger than %d bytes", tooLarge.Limit)
	}
	switch {
	case code == statusClientClosed:
		log.Info("request", "status", code, "err", "the client went away")
	case code >= 500:
		log.Error("request", "status", code, "err", err)
	}
	writeJSON(w, code, body)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v) // the client went away; nothing to do
}

// statusClientClosed answers a request whose client went away before it
// was done, as nginx logs it: not a server error, and nobody reads it.
const statusClientClosed = 499

// retryAfter tells a sender answered 503 when to try again: the store is
// down or cannot write, and a retry will succeed once it can.
func retryAfter(w http.ResponseWriter, code int) {
	if code == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "5")
	}
}
