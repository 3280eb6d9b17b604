// Package alertrecord is how both stores encode an incident's alert
// records: a compact binary form whose first part is what a delivery needs
// to fold a new report of the alert in (klaxon.Seen), so that reading
// those for a body of a hundred alerts costs a few microseconds, not the
// JSON decoding of every label and annotation. The rest of the record is
// read only when someone looks at the alert.
//
// A record is a format byte (1), then:
//
//	seen:  status byte, starts_at, count, first_seen, last_seen, summary, severity
//	rest:  key, integration, source, url, ends_at, labels, annotations
//
// with times as a presence byte then varint seconds and uvarint
// nanoseconds, counts as uvarints, strings as a uvarint length then bytes,
// and maps as a uvarint count then key and value strings, sorted by key.
//
// A store may keep the two parts apart (EncodeSeen, EncodeDetails): the
// seen record is the format byte and seen, and changes with every new
// occurrence of the alert; the details record is the format byte and the
// rest, and changes rarely. A seen record reads with DecodeSeen like a
// whole one; Join reads the two together.
//
// A seen record may also carry the digest of its details record
// (EncodeSeenDigest): format byte 2, seen, then the digest, 8 bytes
// big-endian. A store compares a new details record with the one it
// holds by their digests, without reading it back: DecodeSeen returns
// the digest as klaxon.Seen.Stored, and the fold carries it to the
// commit.
package alertrecord

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/cespare/xxhash/v2"

	"github.com/klaxonhq/klaxon"
)

const (
	format       = 1
	formatDigest = 2
)

// DigestSize is how many bytes a seen record's digest takes past what
// Size counts.
const DigestSize = 8

// errCorrupt is wrapped by every decoding error.
var errCorrupt = errors.New("corrupt alert record")

// Size is about the length of a's record, and of its seen and details
// records together: what to give dst to encode them, most often without
// growing. It does not read a's labels and annotations (iterating them
// took as long as encoding them): each pair counts for pairSize.
func Size(a *klaxon.AlertState) int {
	n := 2 + 4*timeSize + 3*binary.MaxVarintLen64 +
		6*binary.MaxVarintLen64 + len(a.Summary) + len(a.Severity) + len(a.Key) +
		len(a.Integration) + len(a.Source) + len(a.URL)
	return n + (len(a.Labels)+len(a.Annotations))*pairSize
}

// timeSize is the most a time takes: presence, seconds and nanoseconds.
const timeSize = 1 + 2*binary.MaxVarintLen64

// pairSize is what Size counts for a label or annotation: two lengths
// and 40 bytes of name and value.
const pairSize = 2 + 40

// EncodeSeen appends the seen record of a to dst: what a new occurrence
// of the alert changes.
func EncodeSeen(dst []byte, a *klaxon.AlertState) ([]byte, error) {
	return encodeSeen(dst, a, format, 0)
}

// EncodeSeenDigest appends to dst the seen record of a with digest, the
// Digest of its details record.
func EncodeSeenDigest(dst []byte, a *klaxon.AlertState, digest uint64) ([]byte, error) {
	if digest == 0 {
		return nil, fmt.Errorf("encode alert %s: a zero digest", a.Key)
	}
	dst, err := encodeSeen(dst, a, formatDigest, DigestSize)
	if err != nil {
		return nil, err
	}
	return binary.BigEndian.AppendUint64(dst, digest), nil
}

// encodeSeen appends the format byte f and a's seen record to dst, with
// room for more bytes after it.
func encodeSeen(dst []byte, a *klaxon.AlertState, f byte, more int) ([]byte, error) {
	status, err := statusByte(a)
	if err != nil {
		return nil, err
	}
	dst = slices.Grow(dst, 2+4*timeSize+3*binary.MaxVarintLen64+len(a.Summary)+len(a.Severity)+more)
	return appendSeen(append(dst, f, status), a), nil
}

// Digest is the digest of a details record that a seen record carries
// (EncodeSeenDigest): xxHash64, never 0, which stands for none.
func Digest(details []byte) uint64 {
	return max(xxhash.Sum64(details), 1)
}

// EncodeDetails appends the details record of a to dst: the rest of it.
// Size(a) is about room enough for both records.
func EncodeDetails(dst []byte, a *klaxon.AlertState) []byte {
	return appendDetails(append(dst, format), a)
}

// Join reads an alert from its seen and details records. A digest the
// seen record carries is not checked against the details: the store
// wrote the two together.
func Join(seen, details []byte) (klaxon.AlertState, error) {
	r := reader{b: seen}
	s := r.seen()
	if r.err == nil && len(r.b) > 0 {
		r.fail("%d bytes after the seen record", len(r.b))
	}
	if r.err != nil {
		return klaxon.AlertState{}, r.err
	}
	r.b = details
	if r.byte() != format {
		r.fail("details not format %d", format)
	}
	return r.rest(s)
}

func statusByte(a *klaxon.AlertState) (byte, error) {
	switch {
	case a.Count < 0:
		return 0, fmt.Errorf("encode alert %s: count %d", a.Key, a.Count)
	case a.Status == klaxon.Firing:
		return 0, nil
	case a.Status == klaxon.Resolved:
		return 1, nil
	}
	return 0, fmt.Errorf("encode alert %s: status %q", a.Key, a.Status)
}

func appendSeen(dst []byte, a *klaxon.AlertState) []byte {
	dst = appendTime(dst, a.StartsAt)
	dst = binary.AppendUvarint(dst, uint64(a.Count))
	dst = appendTime(dst, a.FirstSeen)
	dst = appendTime(dst, a.LastSeen)
	dst = appendString(dst, a.Summary)
	return appendString(dst, a.Severity)
}

func appendDetails(dst []byte, a *klaxon.AlertState) []byte {
	dst = appendString(dst, a.Key)
	dst = appendString(dst, a.Integration)
	dst = appendString(dst, a.Source)
	dst = appendString(dst, a.URL)
	dst = appendTime(dst, a.EndsAt)
	dst = appendMap(dst, a.Labels)
	return appendMap(dst, a.Annotations)
}

// Encode appends the record of a to dst.
func Encode(dst []byte, a *klaxon.AlertState) ([]byte, error) {
	status, err := statusByte(a)
	if err != nil {
		return nil, err
	}
	dst = slices.Grow(dst, Size(a))
	dst = appendSeen(append(dst, format, status), a)
	return appendDetails(dst, a), nil
}

// DecodeSeen reads the part of a record that folding a report needs.
func DecodeSeen(b []byte) (klaxon.Seen, error) {
	if isJSON(b) {
		a, err := decodeJSON(b)
		return a.Seen(), err
	}
	r := reader{b: b}
	s := r.seen()
	if r.err == nil && s.Stored != 0 && len(r.b) > 0 {
		r.fail("%d bytes after the digest", len(r.b))
	}
	if r.err != nil {
		return klaxon.Seen{}, r.err
	}
	return s, nil
}

// Decode reads a whole record.
func Decode(b []byte) (klaxon.AlertState, error) {
	if isJSON(b) {
		return decodeJSON(b)
	}
	r := reader{b: b}
	s := r.seen()
	if r.err == nil && s.Stored != 0 {
		r.fail("a seen record, whose details are kept apart")
	}
	return r.rest(s)
}

// Apart reports whether b is a seen record whose details record is kept
// apart (EncodeSeenDigest), to read with Join; else it reads whole with
// Decode.
func Apart(b []byte) bool { return len(b) > 0 && b[0] == formatDigest }

// rest reads the details that follow what s holds, to the end.
func (r *reader) rest(s klaxon.Seen) (klaxon.AlertState, error) {
	a := klaxon.AlertState{
		Alert: klaxon.Alert{
			Status: s.Status, StartsAt: s.StartsAt, Summary: s.Summary, Severity: s.Severity,
		},
		Count: s.Count, FirstSeen: s.FirstSeen, LastSeen: s.LastSeen, Stored: s.Stored,
	}
	a.Key = r.string()
	a.Integration = r.string()
	a.Source = r.string()
	a.URL = r.string()
	a.EndsAt = r.time()
	a.Labels = r.stringMap()
	a.Annotations = r.stringMap()
	if r.err == nil && len(r.b) > 0 {
		r.fail("%d bytes after the record", len(r.b))
	}
	if r.err != nil {
		return klaxon.AlertState{}, r.err
	}
	return a, nil
}

func appendTime(dst []byte, t time.Time) []byte {
	if t.IsZero() {
		return append(dst, 0)
	}
	dst = append(dst, 1)
	dst = binary.AppendVarint(dst, t.Unix())
	return binary.AppendUvarint(dst, uint64(t.Nanosecond()))
}

func appendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

func appendMap(dst []byte, m map[string]string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(m)))
	var array [16][2]string // most alerts have fewer labels
	pairs := array[:0]
	for k, v := range m { // once: a lookup per key costs as much again
		pairs = append(pairs, [2]string{k, v})
	}
	slices.SortFunc(pairs, func(a, b [2]string) int { return strings.Compare(a[0], b[0]) })
	for _, p := range pairs {
		dst = appendString(dst, p[0])
		dst = appendString(dst, p[1])
	}
	return dst
}

// reader decodes a record; after the first error every read returns a
// zero value and err keeps that error.
type reader struct {
	b   []byte
	err error
}

func (r *reader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: %s", errCorrupt, fmt.Sprintf(format, args...))
	}
	r.b = nil
}

func (r *reader) seen() klaxon.Seen {
	f := r.byte()
	if f != format && f != formatDigest {
		r.fail("not format %d or %d", format, formatDigest)
		return klaxon.Seen{}
	}
	var s klaxon.Seen
	switch r.byte() {
	case 0:
		s.Status = klaxon.Firing
	case 1:
		s.Status = klaxon.Resolved
	default:
		r.fail("bad status")
	}
	s.StartsAt = r.time()
	s.Count = int(r.uvarint(1 << 62))
	s.FirstSeen = r.time()
	s.LastSeen = r.time()
	s.Summary = r.string()
	s.Severity = r.string()
	if f == formatDigest {
		if len(r.b) < DigestSize {
			r.fail("short digest")
			return klaxon.Seen{}
		}
		if s.Stored = binary.BigEndian.Uint64(r.b); s.Stored == 0 {
			r.fail("a zero digest")
			return klaxon.Seen{}
		}
		r.b = r.b[DigestSize:]
	}
	return s
}

func (r *reader) byte() byte {
	if len(r.b) == 0 {
		r.fail("short")
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *reader) uvarint(limit uint64) uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 || v > limit {
		r.fail("bad number")
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) time() time.Time {
	switch r.byte() {
	case 0:
		return time.Time{}
	case 1:
	default:
		r.fail("bad time")
		return time.Time{}
	}
	sec, n := binary.Varint(r.b)
	if n <= 0 {
		r.fail("bad time")
		return time.Time{}
	}
	r.b = r.b[n:]
	nsec := r.uvarint(999_999_999)
	if r.err != nil {
		return time.Time{}
	}
	return time.Unix(sec, int64(nsec)).UTC()
}

func (r *reader) string() string {
	n := r.uvarint(1 << 62)
	if r.err != nil {
		return ""
	}
	if n > uint64(len(r.b)) {
		r.fail("string of %d bytes past the end", n)
		return ""
	}
	s := string(r.b[:n])
	r.b = r.b[n:]
	return s
}

func (r *reader) stringMap() map[string]string {
	n := r.uvarint(1 << 62)
	if r.err != nil || n == 0 {
		return nil
	}
	if n > uint64(len(r.b))/2 {
		r.fail("%d entries in %d bytes", n, len(r.b))
		return nil
	}
	m := make(map[string]string, n)
	for range n {
		k := r.string()
		m[k] = r.string()
	}
	return m
}

// isJSON reports whether b is a record as the first version of the
// per-alert layout wrote it: the alert state as a JSON object. Files and
// keyspaces written then are read as they are; each record takes the
// binary form when its alert next changes.
func isJSON(b []byte) bool { return len(b) > 0 && b[0] == '{' }

func decodeJSON(b []byte) (klaxon.AlertState, error) {
	var a klaxon.AlertState
	if err := json.Unmarshal(b, &a); err != nil {
		return klaxon.AlertState{}, fmt.Errorf("%w: JSON record: %v", errCorrupt, err)
	}
	if _, err := statusByte(&a); err != nil {
		return klaxon.AlertState{}, fmt.Errorf("%w: JSON record: %v", errCorrupt, err)
	}
	// As the binary form reads them: times in UTC, no empty maps.
	for _, t := range []*time.Time{&a.StartsAt, &a.EndsAt, &a.FirstSeen, &a.LastSeen} {
		if t.IsZero() {
			*t = time.Time{}
		} else {
			*t = t.UTC()
		}
	}
	if len(a.Labels) == 0 {
		a.Labels = nil
	}
	if len(a.Annotations) == 0 {
		a.Annotations = nil
	}
	return a, nil
}
