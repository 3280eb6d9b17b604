package twilio

import (
	"fmt"
	"strings"
	"unicode/utf16"
)

// MaxAnswer bounds the answer to an SMS reply, in UTF-16 code units as
// Twilio counts a message's characters: it refuses one over 1,600 (error
// 21617), and the person would hear of nothing. An "AA" in a storm acts
// on hundreds of incidents.
const MaxAnswer = 1600

// outcome is what an SMS reply did to the incidents it named, told by
// text in as much detail as fits MaxAnswer.
type outcome struct {
	done   string            // what was done to each of ok: "Acknowledged"
	ok     []string          // the incidents it was done to, in order
	about  map[string]string // an incident's short description, by ID
	failed []string          // "#12 not changed: it is resolved"
	later  []string          // the incidents that paged after the reply
}

// text tells o: each incident with its description while that fits, else
// their IDs alone, else as many as fit and how many more.
func (o outcome) text() string {
	var detailed []string
	for _, id := range o.ok {
		detailed = append(detailed, fmt.Sprintf("%s #%s (%s)", o.done, id, o.about[id]))
	}
	if s := o.join(detailed, o.failed, len(o.later)); units(s) <= MaxAnswer {
		return s
	}
	// Counts of each list told in full; the longest is cut first.
	nOK, nFailed, nLater := len(o.ok), len(o.failed), len(o.later)
	for {
		s := o.join(o.compact(nOK), o.failed[:nFailed], nLater)
		if units(s) <= MaxAnswer {
			return s
		}
		switch longest := max(nOK, nFailed, nLater); {
		case longest == 0:
			return cutUnits(s, MaxAnswer)
		case nFailed == longest:
			nFailed -= max(1, nFailed/4)
		case nOK == longest:
			nOK -= max(1, nOK/4)
		default:
			nLater -= max(1, nLater/4)
		}
	}
}

// compact is o.ok as one item, "Acknowledged #5 #6", its first n IDs and
// how many more; nil when there are none.
func (o outcome) compact(n int) []string {
	if len(o.ok) == 0 {
		return nil
	}
	return []string{o.done + " " + idList(o.ok, n)}
}

// join is the items, the failures that are told and how many are not,
// and the first n of the incidents that paged after the reply.
func (o outcome) join(items, failed []string, n int) string {
	items = append(items, failed...)
	if more := len(o.failed) - len(failed); more > 0 {
		items = append(items, fmt.Sprintf("%d more not changed", more))
	}
	if len(o.later) > 0 {
		items = append(items, "not "+idList(o.later, n)+": paged you after this reply")
	}
	return strings.Join(items, "; ")
}

// idList is "#5 #6 #7", the first n of ids, then "… and 12 more".
func idList(ids []string, n int) string {
	var b strings.Builder
	for i, id := range ids[:n] {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString("#" + id)
	}
	if more := len(ids) - n; more > 0 {
		if n > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "… and %d more", more)
	}
	return b.String()
}

// units counts s in UTF-16 code units, as Twilio counts characters.
func units(s string) int {
	n := 0
	for _, r := range s {
		n += runeUnits(r)
	}
	return n
}

// runeUnits is r's length in UTF-16 code units; 1 for an invalid rune,
// which is sent as U+FFFD.
func runeUnits(r rune) int { return max(1, utf16.RuneLen(r)) }

// cutUnits cuts s to at most limit UTF-16 code units, marked with "…".
func cutUnits(s string, limit int) string {
	if units(s) <= limit {
		return s
	}
	n := 0
	for i, r := range s {
		if n+runeUnits(r) > limit-1 {
			return s[:i] + "…"
		}
		n += runeUnits(r)
	}
	return s
}
