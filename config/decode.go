package config

import (
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
)

// decoder copies a parsed YAML value into a Go value, strictly: it walks
// the value against the Go type (struct fields named by their koanf tag),
// and records an unknown key or a value of the wrong type as a problem
// naming its full key path, like steps[0].escalate_after. It expands
// ${VAR} in every string it copies. It never stops at the first problem.
type decoder struct {
	file   string
	lookup func(string) (string, bool)
	probs  *problems
}

// decode copies in, found at path, into out.
func (d *decoder) decode(path string, in any, out reflect.Value) {
	if in == nil {
		if out.Kind() == reflect.Pointer {
			out.Set(reflect.New(out.Type().Elem())) // `console:` turns it on
		}
		return
	}
	if out.CanAddr() {
		if sd, ok := out.Addr().Interface().(selfDecoder); ok {
			sd.decodeFrom(d, path, in)
			return
		}
	}
	switch out.Kind() {
	case reflect.String:
		s, ok := in.(string)
		if !ok && out.Type() == durationType {
			s, ok = numberText(in)
		}
		if !ok {
			d.probs.undecodable(d.file, path, "expected a string, got %s (quote it)", kind(in))
			return
		}
		if s, ok = d.expand(path, s); ok {
			out.SetString(s)
		}
	case reflect.Int:
		d.decodeInt(path, in, out)
	case reflect.Bool:
		switch v := in.(type) {
		case bool:
			out.SetBool(v)
		case string:
			s, ok := d.expand(path, v)
			if !ok {
				return
			}
			b, err := strconv.ParseBool(s)
			if err != nil {
				d.probs.undecodable(d.file, path, "expected true or false, got %q", s)
				return
			}
			out.SetBool(b)
		default:
			d.probs.undecodable(d.file, path, "expected true or false, got %s", kind(in))
		}
	case reflect.Slice:
		list, ok := in.([]any)
		if !ok {
			d.probs.undecodable(d.file, path, "expected a list, got %s", kind(in))
			return
		}
		s := reflect.MakeSlice(out.Type(), len(list), len(list))
		for i, v := range list {
			d.decode(fmt.Sprintf("%s[%d]", path, i), v, s.Index(i))
		}
		out.Set(s)
	case reflect.Pointer:
		p := reflect.New(out.Type().Elem())
		d.decode(path, in, p.Elem())
		out.Set(p)
	case reflect.Struct:
		d.decodeStruct(path, in, out)
	case reflect.Map:
		m, ok := stringMap(in)
		if !ok || out.Type().Key().Kind() != reflect.String {
			d.probs.undecodable(d.file, path, "expected a map, got %s", kind(in))
			return
		}
		mv := reflect.MakeMapWithSize(out.Type(), len(m))
		for k, v := range m {
			e := reflect.New(out.Type().Elem()).Elem()
			d.decode(path+"."+k, v, e)
			mv.SetMapIndex(reflect.ValueOf(k).Convert(out.Type().Key()), e)
		}
		out.Set(mv)
	default:
		d.probs.undecodable(d.file, path, "cannot decode into %s", out.Type())
	}
}

// selfDecoder is a type that decodes itself, for the few keys that may be
// written in more than one form, like listen: an address or a list of
// listeners.
type selfDecoder interface {
	decodeFrom(d *decoder, path string, in any)
}

func (d *decoder) decodeInt(path string, in any, out reflect.Value) {
	var n int64
	switch v := in.(type) {
	case int:
		n = int64(v)
	case int64:
		n = v
	case uint64:
		if v > math.MaxInt64 {
			d.probs.undecodable(d.file, path, "number too large")
			return
		}
		n = int64(v)
	case float64:
		if v != math.Trunc(v) || v < math.MinInt64 || v >= math.MaxInt64 {
			d.probs.undecodable(d.file, path, "expected a whole number, got %v", v)
			return
		}
		n = int64(v)
	case string:
		s, ok := d.expand(path, v)
		if !ok {
			return
		}
		i, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		if err != nil {
			d.probs.undecodable(d.file, path, "expected a whole number, got %q", s)
			return
		}
		n = i
	default:
		d.probs.undecodable(d.file, path, "expected a whole number, got %s", kind(in))
		return
	}
	if out.OverflowInt(n) {
		d.probs.undecodable(d.file, path, "number too large")
		return
	}
	out.SetInt(n)
}

func (d *decoder) decodeStruct(path string, in any, out reflect.Value) {
	m, ok := stringMap(in)
	if !ok {
		d.probs.undecodable(d.file, path, "expected a map, got %s", kind(in))
		return
	}
	fields := make(map[string]int, out.NumField())
	for i := range out.NumField() {
		if tag := out.Type().Field(i).Tag.Get("koanf"); tag != "" && tag != "-" {
			fields[tag] = i
		}
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		sub := joinKey(path, k)
		i, ok := fields[k]
		if !ok {
			msg := "unknown key"
			if h, ok := out.Addr().Interface().(keyHinter); ok {
				if hint := h.KeyHint(k); hint != "" {
					msg += ": " + hint
				}
			}
			d.probs.undecodable(d.file, sub, "%s", msg)
			continue
		}
		d.decode(sub, m[k], out.Field(i))
		if out.Type().Field(i).Tag.Get("empty") == "inherits" {
			d.checkInherits(sub, m[k], out.Field(i))
		}
	}
}

// checkInherits records a problem when a key whose empty value means
// "inherit the parent's" (tagged empty:"inherits") was written, but a
// ${VAR} of it with no default read a variable set but empty, and it
// expanded to nothing: the author named a value, and inheriting in its
// place would change where alerts go without a word. An empty default
// the author wrote (${VAR:-}) asks for the parent's, and is no problem.
func (d *decoder) checkInherits(path string, in any, out reflect.Value) {
	s, ok := in.(string)
	if !ok || out.Kind() != reflect.String || out.String() != "" {
		return
	}
	setOnly := func(name string) (string, bool) {
		v, ok := d.lookup(name)
		return v, ok && v != ""
	}
	if _, err := expand(s, setOnly); err != nil {
		hint := "set the variable, or leave the key out"
		if !strings.Contains(path, "routes[") {
			hint = "set the variable" // the root route has no parent's to take
		}
		d.probs.undecodable(d.file, path, "%q expands to nothing, which here means unset: %s", s, hint)
	}
}

// keyHinter is a section that says what to write instead of a key it
// does not take (one of another tool's, say).
type keyHinter interface {
	KeyHint(key string) string
}

// expand expands ${VAR} in s, recording a problem at path when it cannot.
func (d *decoder) expand(path, s string) (string, bool) {
	s, err := expand(s, d.lookup)
	if err != nil {
		d.probs.undecodable(d.file, path, "%v", err)
		return "", false
	}
	return s, true
}

// durationText is a duration as written, parsed later with ParseDuration.
// Unlike other strings, it may be written as a bare number (after: 0).
type durationText string

var durationType = reflect.TypeFor[durationText]()

// or is d parsed, or def when d is unset.
func (d durationText) or(def time.Duration) time.Duration {
	if d == "" {
		return def
	}
	v, _ := ParseDuration(string(d)) // checked by Load
	return v
}

// numberText formats a parsed YAML number as it was most likely written.
func numberText(in any) (string, bool) {
	switch v := in.(type) {
	case int:
		return strconv.Itoa(v), true
	case int64:
		return strconv.FormatInt(v, 10), true
	case uint64:
		return strconv.FormatUint(v, 10), true
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64), true
	}
	return "", false
}

// stringMap returns in as a map with string keys, if it is a map.
func stringMap(in any) (map[string]any, bool) {
	switch m := in.(type) {
	case map[string]any:
		return m, true
	case map[any]any:
		out := make(map[string]any, len(m))
		for k, v := range m {
			out[fmt.Sprint(k)] = v
		}
		return out, true
	}
	return nil, false
}

// joinKey appends key to path, quoting a key that is not a plain word.
func joinKey(path, key string) string {
	plain := key != ""
	for _, c := range key {
		if !(c == '_' || c == '-' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			plain = false
			break
		}
	}
	if !plain {
		key = strconv.Quote(key)
	}
	if path == "" {
		return key
	}
	return path + "." + key
}

// kind names the YAML type of a parsed value, for messages.
func kind(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case bool:
		return "true/false"
	case int, int64, uint64, float64:
		return "a number"
	case []any:
		return "a list"
	case map[string]any, map[any]any:
		return "a map"
	case time.Time:
		return "a timestamp"
	}
	return fmt.Sprintf("%T", v)
}
