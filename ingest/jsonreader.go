package ingest

import (
	"encoding/json"
	"unicode/utf8"
)

// reader decodes a JSON document of a shape known in advance without
// reflection: the fast path for the bodies a storm brings, where
// encoding/json's reflection and its validating pre-scan would take a third
// of the server's time.
//
// It is exact or it gives up. Anything it does not decode exactly as
// encoding/json would into the same Go types (malformed JSON, a value of
// another type, a key that appears twice or matches a field only when case
// is ignored, a null where it would have to think) sets failed, and the
// caller decodes the body again with encoding/json, for its result or its
// error. FuzzAlertmanagerReader holds it to that.
type reader struct {
	b      []byte
	i      int
	failed bool
}

// maxDepth bounds the nesting of the values the reader skips; deeper
// documents go to encoding/json.
const maxDepth = 64

// fail gives up on the document.
func (r *reader) fail() { r.failed = true; r.i = len(r.b) }

// space skips JSON whitespace.
func (r *reader) space() {
	for r.i < len(r.b) {
		switch r.b[r.i] {
		case ' ', '\t', '\n', '\r':
			r.i++
		default:
			return
		}
	}
}

// peek skips whitespace and returns the next byte, or 0 at the end.
func (r *reader) peek() byte {
	r.space()
	if r.i < len(r.b) {
		return r.b[r.i]
	}
	return 0
}

// consume skips whitespace and the byte c, or fails.
func (r *reader) consume(c byte) {
	if r.peek() != c {
		r.fail()
		return
	}
	r.i++
}

// end checks that nothing but whitespace is left.
func (r *reader) end() {
	if r.peek() != 0 || r.i != len(r.b) {
		r.fail()
	}
}

// null consumes a null literal if one is next.
func (r *reader) null() bool {
	if r.peek() == 'n' && r.literal("null") {
		return true
	}
	return false
}

func (r *reader) literal(lit string) bool {
	if len(r.b)-r.i < len(lit) || string(r.b[r.i:r.i+len(lit)]) != lit {
		r.fail()
		return false
	}
	r.i += len(lit)
	return true
}

// object reads an object, calling member with each key (a slice of the
// body, valid until the next call) while positioned at its value, which
// member must read. A key with escapes or bytes beyond ASCII fails: such a
// key could match a field only after decoding or Unicode case folding.
func (r *reader) object(member func(key []byte)) { r.members(true, member) }

// members reads an object as object does; without plainKeys, it takes
// any key, which member then gets as nil.
func (r *reader) members(plainKeys bool, member func(key []byte)) {
	r.consume('{')
	if r.peek() == '}' {
		r.i++
		return
	}
	for !r.failed {
		if r.peek() != '"' {
			r.fail()
			return
		}
		var key []byte
		if plainKeys {
			key = r.plainKey()
		} else {
			r.str()
		}
		r.consume(':')
		if r.failed {
			return
		}
		member(key)
		switch r.peek() {
		case ',':
			r.i++
		case '}':
			r.i++
			return
		default:
			r.fail()
		}
	}
}

// plainKey reads a key of ASCII without escapes, or fails.
func (r *reader) plainKey() []byte {
	start := r.i + 1
	j := start
	for j < len(r.b) && r.b[j] != '"' {
		if c := r.b[j]; c == '\\' || c < 0x20 || c >= utf8.RuneSelf {
			r.fail()
			return nil
		}
		j++
	}
	if j == len(r.b) {
		r.fail()
		return nil
	}
	r.i = j + 1
	return r.b[start:j]
}

// array reads an array, calling elem at each element, which elem must read.
func (r *reader) array(elem func()) {
	r.consume('[')
	if r.peek() == ']' {
		r.i++
		return
	}
	for !r.failed {
		elem()
		switch r.peek() {
		case ',':
			r.i++
		case ']':
			r.i++
			return
		default:
			r.fail()
		}
	}
}

// str reads a string; null reads as "", as encoding/json leaves a string
// it decodes null into. A string with escapes, control characters or bytes
// beyond ASCII is decoded by encoding/json, which also replaces invalid
// UTF-8 as it always does.
func (r *reader) str() string {
	switch r.peek() {
	case '"':
	case 'n':
		r.literal("null")
		return ""
	default:
		r.fail()
		return ""
	}
	start := r.i
	j := start + 1
	simple := true
	for j < len(r.b) && r.b[j] != '"' {
		switch c := r.b[j]; {
		case c == '\\':
			simple = false
			j++ // the escaped byte; a malformed escape fails below
		case c < 0x20 || c >= utf8.RuneSelf:
			simple = false
		}
		j++
	}
	if j >= len(r.b) {
		r.fail()
		return ""
	}
	r.i = j + 1
	if simple {
		return internString(r.b[start+1 : j])
	}
	var s string
	if json.Unmarshal(r.b[start:j+1], &s) != nil {
		r.fail()
	}
	return s
}

// internString returns the label names and values that nearly every alert
// carries as constants, and a copy of anything else.
func internString(b []byte) string {
	switch string(b) {
	case "alertname":
		return "alertname"
	case "severity":
		return "severity"
	case "service":
		return "service"
	case "instance":
		return "instance"
	case "job":
		return "job"
	case "summary":
		return "summary"
	case "description":
		return "description"
	case "critical":
		return "critical"
	case "warning":
		return "warning"
	case "firing":
		return "firing"
	case "resolved":
		return "resolved"
	}
	return string(b)
}

// strings reads an object of strings into a new map; null reads as a nil
// map. A null member value fails, though encoding/json would store "".
func (r *reader) strings() map[string]string {
	if r.null() {
		return nil
	}
	m := make(map[string]string, 8)
	r.object(func(key []byte) {
		k := internString(key)
		if r.peek() != '"' {
			r.fail()
			return
		}
		m[k] = r.str()
	})
	return m
}

// raw reads any value and returns a copy of its bytes, as json.RawMessage
// holds them.
func (r *reader) raw() []byte {
	r.space()
	start := r.i
	r.skip(0)
	if r.failed {
		return nil
	}
	return append([]byte(nil), r.b[start:r.i]...)
}

// skip reads any value, checking it as encoding/json would.
func (r *reader) skip(depth int) {
	if depth > maxDepth {
		r.fail()
		return
	}
	switch r.peek() {
	case '{':
		r.members(false, func([]byte) { r.skip(depth + 1) })
	case '[':
		r.array(func() { r.skip(depth + 1) })
	case '"':
		r.str()
	case 't':
		r.literal("true")
	case 'f':
		r.literal("false")
	case 'n':
		r.literal("null")
	default:
		r.number()
	}
}

// number reads a number as JSON's grammar has it:
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (r *reader) number() {
	b, i := r.b, r.i
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		i = digits(b, i)
	default:
		r.fail()
		return
	}
	if i < len(b) && b[i] == '.' {
		if i+1 >= len(b) || !isDigit(b[i+1]) {
			r.fail()
			return
		}
		i = digits(b, i+1)
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || !isDigit(b[i]) {
			r.fail()
			return
		}
		i = digits(b, i)
	}
	r.i = i
}

func digits(b []byte, i int) int {
	for i < len(b) && isDigit(b[i]) {
		i++
	}
	return i
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// fields tracks which of up to 64 known keys an object has had, so that a
// second one fails: encoding/json would let the last win, or merge maps.
type fields uint64

// first marks field n seen and reports whether it was not yet.
func (f *fields) first(n int) bool {
	if *f&(1<<n) != 0 {
		return false
	}
	*f |= 1 << n
	return true
}

// foldsTo reports whether key equals one of names when ASCII case is
// ignored: encoding/json would decode it into that field.
func foldsTo(key []byte, names ...string) bool {
	for _, n := range names {
		if len(n) != len(key) {
			continue
		}
		same := true
		for i := range key {
			if lower(key[i]) != lower(n[i]) {
				same = false
				break
			}
		}
		if same {
			return true
		}
	}
	return false
}

func lower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}
