package route

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
)

// MaxGroupKey bounds a group key. Labels are bounded one by one, but a
// route that groups by many long labels would make a key past what a
// store takes (bbolt: 32 KiB): past MaxGroupKey, the part after the route
// ID is a hash of itself (see GroupKey).
const MaxGroupKey = 4096

// GroupLabels returns the route's group_by labels that lbls carries with a
// non-empty value. A missing label and an empty one are the same to a
// group key, and neither is returned.
func (r *Route) GroupLabels(lbls map[string]string) map[string]string {
	out := make(map[string]string, len(r.GroupBy))
	for _, name := range r.GroupBy {
		if v := lbls[name]; v != "" {
			out[name] = v
		}
	}
	return out
}

// Alone reports whether an alert with lbls is a group of its own on route
// r: its route groups by labels and it has none of them (none with a
// value), as an event without grouping is on PagerDuty. Were it grouped by
// labels it has not, a "db disk full" event would join whatever incident
// another label-less alert of any tool left open, and page nobody.
func (r *Route) Alone(lbls map[string]string) bool {
	for _, name := range r.GroupBy {
		if lbls[name] != "" {
			return false
		}
	}
	return len(r.GroupBy) > 0
}

// GroupKey returns the correlation group of the alert with key alert and
// labels lbls on route r: the route ID, a colon, then the group_by labels
// in group_by order with their values quoted, a missing label counting as
// the empty string:
//
//	{}/{service="payments"}:{alertname="HighErrorRate",service="payments"}
//
// An alert that has none of the group_by labels is a group of its own
// (Alone): the route ID, a colon and its quoted key:
//
//	{}:"tools/db-disk-full"
//
// Values are quoted with strconv.Quote and names quoted too when they are
// not plain identifiers, so two different routes, label sets or alerts
// never share a key. A key longer than MaxGroupKey is the route ID, a
// colon, "#" and the SHA-256 of what followed the colon, in hex:
//
//	{}:#6f1ed002ab5595859014ebf0951522d9...
func (r *Route) GroupKey(lbls map[string]string, alert string) string {
	return bounded(r.ID, r.groupKey(lbls, alert))
}

// bounded hashes the part of key after the route ID when key is longer
// than MaxGroupKey. A hashed key starts with "#" after the colon, which no
// key that is not hashed does ("{" or a quote).
func bounded(id, key string) string {
	if len(key) <= MaxGroupKey {
		return key
	}
	sum := sha256.Sum256([]byte(key[len(id)+1:]))
	return id + ":#" + hex.EncodeToString(sum[:])
}

func (r *Route) groupKey(lbls map[string]string, alert string) string {
	if r.Alone(lbls) {
		return r.ID + ":" + strconv.Quote(alert)
	}
	n := len(r.ID) + 3
	for _, name := range r.GroupBy {
		n += len(name) + len(lbls[name]) + 4
	}
	b := make([]byte, 0, n)
	b = append(b, r.ID...)
	b = append(b, ':', '{')
	for i, name := range r.GroupBy {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendLabelName(b, name)
		b = append(b, '=')
		b = appendQuoted(b, lbls[name])
	}
	b = append(b, '}')
	return string(b)
}

// appendQuoted is strconv.AppendQuote, without its walk of the runes for
// a value of printable ASCII with no quote or backslash, as most are: a
// storm's every alert has its group key built.
func appendQuoted(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' || c > '~' || c == '"' || c == '\\' {
			return strconv.AppendQuote(b, s)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// appendLabelName appends a label name as a group key spells it: as is
// when it is a plain identifier ([a-zA-Z_][a-zA-Z0-9_]*), else quoted.
func appendLabelName(b []byte, name string) []byte {
	if name == "" {
		return append(b, '"', '"')
	}
	for i, c := range name {
		switch {
		case c == '_', 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		case '0' <= c && c <= '9' && i > 0:
		default:
			return strconv.AppendQuote(b, name)
		}
	}
	return append(b, name...)
}
