// Package incidentjson encodes an incident's header and the events of
// its timeline as encoding/json does, byte for byte, without reflection.
// Both stores write the header and the events a commit recorded with
// every commit, so that in a storm of single events, encoding/json's
// walk of the header's fields was a tenth of a commit's cost. What this
// package writes, json.Unmarshal reads back as it reads json.Marshal's,
// and a header that did not change encodes to the bytes the store holds
// (which the stores compare, to write only what changed).
//
// A field added to klaxon.Incident, klaxon.Event or a type they hold
// must be added here too; the package's tests fill every field of both
// and fail on any difference from encoding/json.
package incidentjson

import (
	"bytes"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/klaxonhq/klaxon"
)

// AppendHeader appends inc's header to b, as json.Marshal(inc) encodes
// it: Changed and Recorded are not part of it.
func AppendHeader(b []byte, inc *klaxon.Incident) ([]byte, error) {
	e := encoder{b: b}
	e.header(inc)
	if e.bad {
		// A time encoding/json refuses; it says why.
		_, err := json.Marshal(inc)
		return b, err
	}
	return e.b, nil
}

// Header returns inc's header (see AppendHeader) in a buffer of its
// own, of its length.
func Header(inc *klaxon.Incident) ([]byte, error) {
	buf := scratch.Get().(*[]byte)
	defer scratch.Put(buf)
	var err error
	if *buf, err = AppendHeader((*buf)[:0], inc); err != nil {
		return nil, err
	}
	return bytes.Clone(*buf), nil
}

// Events returns the events inc recorded since it was read
// (inc.Recorded), each encoded (see AppendEvent), in one buffer of their
// length.
func Events(inc *klaxon.Incident) ([][]byte, error) {
	buf := scratch.Get().(*[]byte)
	defer scratch.Put(buf)
	*buf = (*buf)[:0]
	ends := make([]int, len(inc.Recorded))
	for i := range inc.Recorded {
		var err error
		if *buf, err = AppendEvent(*buf, &inc.Recorded[i]); err != nil {
			return nil, err
		}
		ends[i] = len(*buf)
	}
	all := bytes.Clone(*buf)
	events := make([][]byte, len(ends))
	start := 0
	for i, end := range ends {
		events[i] = all[start:end:end]
		start = end
	}
	return events, nil
}

// scratch holds buffers to encode into before the result is copied to
// one of its size: a header or a commit's events take a few hundred bytes.
var scratch = sync.Pool{New: func() any { return new([]byte) }}

// AppendEvent appends ev to b, as json.Marshal(ev) encodes it.
func AppendEvent(b []byte, ev *klaxon.Event) ([]byte, error) {
	e := encoder{b: b}
	e.event(ev)
	if e.bad {
		_, err := json.Marshal(ev)
		return b, err
	}
	return e.b, nil
}

// encoder appends JSON to b. bad is set by a time that encoding/json
// would refuse to encode.
type encoder struct {
	b   []byte
	bad bool
	// more is set once an object has a field, so that the next one
	// takes a comma.
	more bool
}

func (e *encoder) open()  { e.b, e.more = append(e.b, '{'), false }
func (e *encoder) close() { e.b, e.more = append(e.b, '}'), true }

// key starts the field name of the object being written.
func (e *encoder) key(name string) {
	if e.more {
		e.b = append(e.b, ',')
	}
	e.b = append(e.b, '"')
	e.b = append(e.b, name...)
	e.b = append(e.b, '"', ':')
	e.more = true
}

func (e *encoder) str(name, v string) {
	e.key(name)
	e.b = appendString(e.b, v)
}

func (e *encoder) strOmit(name, v string) {
	if v != "" {
		e.str(name, v)
	}
}

func (e *encoder) int(name string, v int64) {
	e.key(name)
	e.b = strconv.AppendInt(e.b, v, 10)
}

func (e *encoder) intOmit(name string, v int64) {
	if v != 0 {
		e.int(name, v)
	}
}

func (e *encoder) boolOmit(name string, v bool) {
	if v {
		e.key(name)
		e.b = append(e.b, "true"...)
	}
}

func (e *encoder) time(name string, t time.Time) {
	e.key(name)
	// time.Time.MarshalJSON's checks: RFC 3339 has four-digit years
	// and zone offsets under a day.
	if y := t.Year(); y < 0 || y > 9999 {
		e.bad = true
	}
	if _, off := t.Zone(); off <= -24*60*60 || off >= 24*60*60 {
		e.bad = true
	}
	e.b = append(e.b, '"')
	e.b = t.AppendFormat(e.b, time.RFC3339Nano)
	e.b = append(e.b, '"')
}

func (e *encoder) timeOmit(name string, t time.Time) {
	if !t.IsZero() {
		e.time(name, t)
	}
}

// stringsOmit writes a []string field tagged omitempty.
func (e *encoder) stringsOmit(name string, v []string) {
	if len(v) == 0 {
		return
	}
	e.array(name, false)
	for i, s := range v {
		e.item(i)
		e.b = appendString(e.b, s)
	}
	e.end()
}

// array starts a field whose value is an array, or null when isNil;
// it reports whether there are elements to write, which item then
// separates, and end closes.
func (e *encoder) array(name string, isNil bool) bool {
	e.key(name)
	if isNil {
		e.b = append(e.b, "null"...)
		return false
	}
	e.b = append(e.b, '[')
	return true
}

// item separates element i from the one before.
func (e *encoder) item(i int) {
	if i > 0 {
		e.b = append(e.b, ',')
	}
}

func (e *encoder) end() { e.b = append(e.b, ']') }

// labelsOmit writes a map[string]string field tagged omitempty, its
// keys in order, as encoding/json does.
func (e *encoder) labelsOmit(name string, m map[string]string) {
	if len(m) == 0 {
		return
	}
	e.key(name)
	var buf [16][2]string // most incidents have fewer labels
	pairs := buf[:0]
	for k, v := range m {
		pairs = append(pairs, [2]string{k, v})
	}
	slices.SortFunc(pairs, func(a, b [2]string) int { return strings.Compare(a[0], b[0]) })
	e.b = append(e.b, '{')
	for i, p := range pairs {
		e.item(i)
		e.b = appendString(e.b, p[0])
		e.b = append(e.b, ':')
		e.b = appendString(e.b, p[1])
	}
	e.b = append(e.b, '}')
}

func (e *encoder) header(inc *klaxon.Incident) {
	e.open()
	e.str("id", inc.ID)
	e.str("group", inc.Group)
	e.str("summary", inc.Summary)
	e.strOmit("severity", inc.Severity)
	e.strOmit("urgency", string(inc.Urgency))
	e.boolOmit("keep_open", inc.KeepOpen)
	e.labelsOmit("labels", inc.Labels)
	e.str("state", string(inc.State))
	e.time("created_at", inc.CreatedAt)
	e.strOmit("trace", inc.Trace)
	e.timeOmit("acked_at", inc.AckedAt)
	e.strOmit("acked_by", inc.AckedBy)
	e.timeOmit("snoozed_until", inc.SnoozedUntil)
	e.timeOmit("resolved_at", inc.ResolvedAt)
	e.strOmit("resolved_by", inc.ResolvedBy)
	e.strOmit("assignee", inc.Assignee)
	e.strOmit("commander", inc.Commander)
	if c := inc.Chat; c != nil {
		e.key("chat")
		e.open()
		e.str("channel", c.Channel)
		e.str("ts", c.TS)
		e.close()
	}
	e.int("alert_count", int64(inc.AlertCount))
	e.int("firing_count", int64(inc.FiringCount))
	e.timeOmit("paged_at", inc.PagedAt)
	e.key("policy")
	e.policy(&inc.Policy)
	e.key("escalation")
	e.escalation(&inc.Escalation)
	if len(inc.Pending) > 0 {
		e.array("pending", false)
		for i := range inc.Pending {
			e.item(i)
			e.notification(&inc.Pending[i])
		}
		e.end()
	}
	e.intOmit("seq", int64(inc.Seq))
	e.intOmit("walk_from", int64(inc.WalkFrom))
	if len(inc.Sent) > 0 {
		e.array("sent", false)
		for i := range inc.Sent {
			e.item(i)
			e.sent(&inc.Sent[i])
		}
		e.end()
	}
	if len(inc.Walked) > 0 {
		e.array("walked", false)
		for i, w := range inc.Walked {
			e.item(i)
			e.open()
			e.str("user", w.User)
			e.int("step", int64(w.Step))
			e.timeOmit("at", w.At)
			e.close()
		}
		e.end()
	}
	e.boolOmit("walked_all", inc.WalkedAll)
	e.stringsOmit("once", inc.Once)
	e.close()
}

func (e *encoder) policy(p *klaxon.Policy) {
	e.open()
	e.str("name", p.Name)
	e.intOmit("repeat", int64(p.Repeat))
	e.intOmit("ack_timeout", int64(p.AckTimeout))
	if e.array("steps", p.Steps == nil) {
		for i := range p.Steps {
			e.item(i)
			e.step(&p.Steps[i])
		}
		e.end()
	}
	e.stringsOmit("subscribers", p.Subscribers)
	e.strOmit("slack_channel", p.SlackChannel)
	e.close()
}

func (e *encoder) step(s *klaxon.Step) {
	e.open()
	if e.array("targets", s.Targets == nil) {
		for i, t := range s.Targets {
			e.item(i)
			e.open()
			e.str("kind", t.Kind)
			e.str("name", t.Name)
			e.close()
		}
		e.end()
	}
	e.int("escalate_after", int64(s.EscalateAfter))
	e.close()
}

func (e *encoder) escalation(s *klaxon.Escalation) {
	e.open()
	e.int("step", int64(s.Step))
	e.int("round", int64(s.Round))
	e.timeOmit("next_at", s.NextAt)
	e.boolOmit("done", s.Done)
	e.boolOmit("reached", s.Reached)
	e.boolOmit("reached_trimmed", s.ReachedTrimmed)
	e.intOmit("lookup_failures", int64(s.LookupFailures))
	e.strOmit("held_by", s.HeldBy)
	e.boolOmit("fallback", s.Fallback)
	e.timeOmit("raise_due", s.RaiseDue)
	e.close()
}

func (e *encoder) notification(n *klaxon.Notification) {
	e.open()
	e.int("id", int64(n.ID))
	e.str("user", n.User)
	e.str("via", n.Via)
	e.time("due", n.Due)
	e.int("step", int64(n.Step))
	e.int("round", int64(n.Round))
	e.boolOmit("put_off", n.PutOff)
	e.timeOmit("put_off_at", n.PutOffAt)
	e.boolOmit("deferred", n.Deferred)
	e.timeOmit("held_at", n.HeldAt)
	e.close()
}

func (e *encoder) sent(s *klaxon.Sent) {
	e.open()
	e.int("n", int64(s.Notification))
	e.int("step", int64(s.Step))
	e.str("user", s.User)
	e.str("via", s.Via)
	e.timeOmit("at", s.At)
	e.boolOmit("failed", s.Failed)
	e.boolOmit("delivered", s.Delivered)
	e.intOmit("tries", int64(s.Tries))
	e.timeOmit("first_try", s.FirstTry)
	e.timeOmit("tried", s.Tried)
	e.close()
}

func (e *encoder) event(ev *klaxon.Event) {
	e.open()
	e.time("at", ev.At)
	e.str("kind", string(ev.Kind))
	e.strOmit("alert", ev.Alert)
	if ev.Step != nil {
		e.int("step", int64(*ev.Step))
	}
	e.intOmit("notification", int64(ev.Notification))
	e.strOmit("user", ev.User)
	e.strOmit("via", ev.Via)
	e.strOmit("by", ev.By)
	e.strOmit("how", ev.How)
	e.strOmit("via_token", ev.ViaToken)
	e.strOmit("text", ev.Text)
	e.strOmit("from", ev.From)
	e.close()
}

const hex = "0123456789abcdef"

// appendString appends s as a JSON string, escaped as encoding/json
// escapes it by default: quote, backslash and control characters; <, >
// and & (for HTML); U+2028 and U+2029 (for JavaScript); and each byte of
// invalid UTF-8 as U+FFFD.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0 // s[start:i] is still to be appended as it is
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
