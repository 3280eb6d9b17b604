package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strconv"
	"strings"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/ingest"
	"github.com/klaxonhq/klaxon/telemetry"
)

// decoder turns a webhook body of one source into alerts, and says how
// many alerts the sender left out of it (Alertmanager's truncatedAlerts).
type decoder func(integration string, body []byte) (alerts []klaxon.Alert, cut int, err error)

// sources maps /v1/ingest/{source} to the integration type and decoder.
var sources = map[string]decoder{
	"alertmanager": ingest.DecodeAlertmanagerWebhook,
	"datadog":      uncut(ingest.DecodeDatadog),
	"generic":      uncut(ingest.DecodeGeneric),
}

// uncut is the decoder of a source whose bodies never leave alerts out.
func uncut(decode func(string, []byte) ([]klaxon.Alert, error)) decoder {
	return func(integration string, body []byte) ([]klaxon.Alert, int, error) {
		alerts, err := decode(integration, body)
		return alerts, 0, err
	}
}

// ingest answers 2xx only once every alert of the body is committed.
func (s *Server) ingest(w http.ResponseWriter, r *http.Request) {
	source := r.PathValue("source")
	decode, ok := sources[source]
	if !ok {
		s.writeError(w, r, errorf(http.StatusNotFound, "no such endpoint: %s %s", r.Method, r.URL.Path))
		return
	}
	name, ok := s.o.Tokens.Integration(source, bearer(r))
	if !ok {
		s.refuse(w, r, errorf(http.StatusUnauthorized, "missing or wrong bearer token for an integration of type %s", source))
		return
	}
	attribute(w, name)
	body, err := readJSON(w, r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	span := s.decodeSpan(r)
	alerts, cut, err := decode(name, body)
	telemetry.End(span, err)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.o.Accepter.Accept(r.Context(), alerts); err != nil {
		s.writeError(w, r, err)
		return
	}
	if source == "alertmanager" {
		// Every body, so that the series is there, at 0, before the
		// first cut: a rule on its increase sees that one too.
		s.metrics.leftOut.WithLabelValues(name).Add(float64(cut))
	}
	firing := ingest.Firing(alerts)
	s.metrics.alerts.WithLabelValues(name, string(klaxon.Firing)).Add(float64(firing))
	s.metrics.alerts.WithLabelValues(name, string(klaxon.Resolved)).Add(float64(len(alerts) - firing))
	writeJSON(w, http.StatusOK, map[string]any{"status": "accepted", "alerts": len(alerts)})
}

// bearer returns the request's bearer token, or "".
func bearer(r *http.Request) string {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(token)
}

// readAll is io.ReadAll into a buffer sized by the request's
// Content-Length when it gives one: a storm's bodies of tens of kilobytes
// are then read without growing the buffer again and again.
func readAll(body io.Reader, size, limit int64) ([]byte, error) {
	if size < 0 || size > limit {
		size = 512
	}
	b := make([]byte, 0, size+1) // +1: the read that finds the end
	for {
		n, err := body.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
	}
}

// readRequest reads a JSON request body into v; what names it in the
// error a body that is no such JSON gets.
func readRequest(w http.ResponseWriter, r *http.Request, v any, what string) error {
	body, err := readJSON(w, r)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	// A field the request does not take is a typo, refused: ignored, a
	// mistyped "user" of assign would take the assignee away.
	dec.DisallowUnknownFields()
	err = dec.Decode(v)
	if err == nil {
		if _, err = dec.Token(); err == io.EOF {
			return nil
		}
		err = errors.New("more after the JSON value")
	} else if err == io.EOF {
		err = errors.New("unexpected end of JSON input")
	}
	return klaxon.Invalid(jsonField(err, body, v), "bad %s: %v", what, err)
}

// jsonField is the field err, the error of decoding body into v, is
// about, "" for none.
func jsonField(err error, body []byte, v any) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return te.Field
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		if f, err := strconv.Unquote(name); err == nil {
			return f
		}
	}
	// A type's own UnmarshalJSON (a time) names no field: each of the
	// object's fields is decoded alone, into a v of its own, until one
	// fails.
	var fields map[string]json.RawMessage
	if json.Unmarshal(body, &fields) != nil {
		return ""
	}
	t := reflect.TypeOf(v)
	if t.Kind() != reflect.Pointer {
		return ""
	}
	for name, raw := range fields {
		one, _ := json.Marshal(map[string]json.RawMessage{name: raw})
		if json.Unmarshal(one, reflect.New(t.Elem()).Interface()) != nil {
			return name
		}
	}
	return ""
}

// readJSON reads a JSON request body of at most bodyLimit(r) bytes.
func readJSON(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	ct := r.Header.Get("Content-Type")
	if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
		return nil, klaxon.Invalid("", "Content-Type must be application/json, got %q", ct)
	}
	if ce := r.Header.Get("Content-Encoding"); ce != "" && !strings.EqualFold(ce, "identity") {
		return nil, errorf(http.StatusUnsupportedMediaType, "Content-Encoding %q is not supported: send the body uncompressed", ce)
	}
	limit := bodyLimit(r)
	body, err := readAll(http.MaxBytesReader(w, r.Body, limit), r.ContentLength, limit)
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, err
		}
		return nil, klaxon.Invalid("", "read body: %v", err)
	}
	return body, nil
}
