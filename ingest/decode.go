// Package ingest turns the webhook bodies that alert sources send into
// normalised klaxon.Alerts: one file per source (Alertmanager and Grafana,
// Datadog, PagerDuty Events API v2, Klaxon's generic JSON).
//
// Decoders are pure functions of the body. Bad input is a *klaxon.FieldError
// whose Field is the JSON path of the offending value ("alerts[1].status"),
// or "" when the body is not JSON at all; it matches klaxon.ErrInvalid.
package ingest

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/klaxonhq/klaxon"
)

// decodeJSON unmarshals body into v, a pointer to a struct, turning
// encoding/json's errors into FieldErrors: a syntax error has no field and
// gives the offset, a value of the wrong type is named by its JSON path.
func decodeJSON(body []byte, v any) error {
	if err := json.Unmarshal(body, v); err != nil {
		return jsonError("", reflect.TypeOf(v).Elem(), err)
	}
	return nil
}

// decodeAlerts is decodeJSON for a body whose "alerts" holds a list of T.
// encoding/json names a wrong value inside a list without its index
// ("alerts.status"), so on such an error the elements are decoded again one
// at a time to report "alerts[1].status". Valid bodies are parsed once.
func decodeAlerts[T any](body []byte, v any) error {
	err := json.Unmarshal(body, v)
	if err == nil {
		return nil
	}
	var typ *json.UnmarshalTypeError
	if errors.As(err, &typ) && (typ.Field == "alerts" || strings.HasPrefix(typ.Field, "alerts.")) {
		var probe struct {
			Alerts []json.RawMessage `json:"alerts"`
		}
		if json.Unmarshal(body, &probe) == nil {
			for i, raw := range probe.Alerts {
				var a T
				if err := json.Unmarshal(raw, &a); err != nil {
					return jsonError(index("alerts", i, ""), reflect.TypeFor[T](), err)
				}
			}
		}
	}
	return jsonError("", reflect.TypeOf(v).Elem(), err)
}

// jsonError converts an error from decoding a value of type t, found at the
// JSON path prefix, into a FieldError.
func jsonError(prefix string, t reflect.Type, err error) error {
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		return klaxon.Invalid(prefix, "malformed JSON at offset %d: %v", syn.Offset, syn)
	}
	var typ *json.UnmarshalTypeError
	if errors.As(err, &typ) {
		var names []string
		if typ.Field != "" {
			names = strings.Split(typ.Field, ".")
		}
		want := typeAt(t, names)
		if want == nil {
			want = typ.Type
		}
		return klaxon.Invalid(join(prefix, strings.Join(names, ".")),
			"must be %s, got %s", describe(want), typ.Value)
	}
	return klaxon.Invalid(prefix, "%v", err)
}

// typeAt follows the JSON field names from t to the type declared there, or
// returns nil when a name is not found.
func typeAt(t reflect.Type, names []string) reflect.Type {
	for _, name := range names {
		if t == nil {
			return nil
		}
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct {
			return nil
		}
		found := false
		for _, f := range reflect.VisibleFields(t) {
			if f.Anonymous || !f.IsExported() {
				continue
			}
			tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if tag == name || (tag == "" && f.Name == name) {
				t, found = f.Type, true
				break
			}
		}
		if !found {
			return nil
		}
	}
	return t
}

// describe names what a value of type t must be, for error messages.
func describe(t reflect.Type) string {
	if t == nil {
		return "another type"
	}
	if t == reflect.TypeFor[flexString]() {
		return "a string or number"
	}
	switch t.Kind() {
	case reflect.Pointer:
		return describe(t.Elem())
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int64, reflect.Float64:
		return "a number"
	case reflect.Slice:
		if t == reflect.TypeFor[json.RawMessage]() {
			return "JSON"
		}
		return "an array"
	case reflect.Map:
		if t.Elem().Kind() == reflect.String {
			return "an object of strings"
		}
		return "an object"
	case reflect.Struct:
		return "an object"
	}
	return t.String()
}

// join appends a field name to a JSON path.
func join(path, name string) string {
	switch {
	case path == "":
		return name
	case name == "":
		return path
	}
	return path + "." + name
}

// index is the JSON path of field within element i of the list at path:
// index("alerts", 1, "status") is "alerts[1].status".
func index(path string, i int, field string) string {
	return join(fmt.Sprintf("%s[%d]", path, i), field)
}

// parseTime parses an RFC 3339 time into UTC, reporting whether s is one
// in range (see inRange). An empty string and Alertmanager's
// "0001-01-01T00:00:00Z" (no time) are the zero time.
func parseTime(s string) (time.Time, bool) {
	if s == "" {
		return time.Time{}, true
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, false
	}
	if t.Year() <= 1 {
		return time.Time{}, true
	}
	t = t.UTC()
	return t, inRange(t)
}

// badTime is the error for a string at the JSON path field that parseTime
// refused.
func badTime(field, s string) error {
	if _, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return outOfRange(field, s)
	}
	return klaxon.Invalid(field, "must be an RFC 3339 time, got %q", s)
}

// inRange reports whether t, in UTC, is in a year that JSON can carry
// (encoding/json writes years 0 to 9999 only): an alert accepted with
// another could not be read back from the API ("9999-12-31T23:59:59-23:59"
// is in the year 10000 in UTC).
func inRange(t time.Time) bool {
	y := t.UTC().Year()
	return y >= 0 && y <= 9999
}

// outOfRange is the error for a time at the JSON path field that inRange
// refused.
func outOfRange(field, s string) error {
	return klaxon.Invalid(field, "must be a time in the years 0 to 9999 in UTC, got %q", s)
}

// labelsID identifies an alert by its labels: a hash of the label pairs in
// key order.
func labelsID(labels map[string]string) string {
	fields := make([]string, 0, 2*len(labels))
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		fields = append(fields, k, labels[k])
	}
	return klaxon.HashFields(fields...)
}
