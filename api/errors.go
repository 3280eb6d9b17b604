package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/httpstatus"
	"github.com/klaxonhq/klaxon/internal/logthin"
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

// status maps an error to its HTTP status code: an error born here has
// its own, and every other is mapped as at every HTTP edge.
func status(err error) int {
	var se *statusError
	if errors.As(err, &se) {
		return se.code
	}
	return httpstatus.Of(err)
}

// errorBody is the JSON of every error the API returns.
type errorBody struct {
	Error string `json:"error"`
	Field string `json:"field,omitempty"`
}

// writeError answers with err's status and JSON body; it logs errors that
// are the server's fault, once, here at the edge: a 503 as s.unavailable
// lets it.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	writeError(w, r, s.log, s.unavailable, err)
}

func writeError(w http.ResponseWriter, r *http.Request, log *slog.Logger, unavailable *logthin.Thinner, err error) {
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
	case code == httpstatus.ClientClosed:
		log.InfoContext(r.Context(), "request", "status", code, "err", "the client went away")
	case code == http.StatusServiceUnavailable:
		if ok, unlogged := unavailable.Let(); ok {
			log.ErrorContext(r.Context(), "request", "status", code, "err", err, "unlogged", unlogged)
		}
	case code >= 500:
		log.ErrorContext(r.Context(), "request", "status", code, "err", err)
	}
	writeJSON(w, code, body)
}

// writeJSON answers code with v in JSON. It encodes v before it writes
// the status: a v that cannot be encoded (a time past the year 9999) is
// a 500 that says why, not a 200 with no body.
func writeJSON(w http.ResponseWriter, code int, v any) {
	var b bytes.Buffer
	if err := json.NewEncoder(&b).Encode(v); err != nil {
		code = http.StatusInternalServerError
		b.Reset()
		_ = json.NewEncoder(&b).Encode(map[string]string{"error": "encode the answer: " + err.Error()})
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = w.Write(b.Bytes()) // the client went away; nothing to do
}

// retryAfter tells a sender answered 503 when to try again: the store is
// down or cannot write, and a retry will succeed once it can.
func retryAfter(w http.ResponseWriter, code int) {
	if code == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "5")
	}
}
