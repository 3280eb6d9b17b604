package ingest

import (
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/klaxonhq/klaxon"
)

// Bounds on what an alert may carry. An alert's key identifies it, and
// becomes a key in the store (bbolt refuses keys over 32 KiB): over the
// bound it is refused, naming the field, so that a sender never retries
// a 500 forever. Everything else is cut to its bound and marked: free
// text, and labels too, which route and group an alert but identify none
// (Alertmanager's fingerprint is of the labels it sent, and a group key
// over route.MaxGroupKey is hashed). A label refused would lose every
// alert of its body: Alertmanager sends a group in one body, and does
// not retry a 4xx.
const (
	MaxKey        = 1024      // an alert's key: integration and the sender's ID
	MaxLabelName  = 256       // a label's or annotation's name
	MaxLabelValue = 4096      // a label's value
	MaxText       = 16 * 1024 // a summary, an annotation's value, a link
)

// truncated marks free text cut to its bound.
const truncated = "… [truncated]"

// bound checks the decoded alerts against the bounds, and cuts their free
// text; at is the JSON path of alert i ("" for a body of one alert),
// asked for only to name a field refused.
func bound(alerts []klaxon.Alert, at func(i int) string) error {
	for i := range alerts {
		a := &alerts[i]
		if len(a.Key) > MaxKey {
			return klaxon.Invalid(join(at(i), "key"), "the alert's key (its integration and ID) is %d bytes: at most %d", len(a.Key), MaxKey)
		}
		cutMap(a.Labels, MaxLabelValue)
		cutMap(a.Annotations, MaxText)
		a.Summary, a.Source, a.URL = cut(a.Summary), cut(a.Source), cut(a.URL)
		a.Severity = cutTo(a.Severity, MaxLabelValue)
	}
	return nil
}

// cutMap cuts m's names to MaxLabelName and its values to max, each
// marked. Two long names that share their first bytes up to the bound
// become one, the value of the greater winning.
func cutMap(m map[string]string, max int) {
	var long []string
	for k, v := range m {
		switch {
		case len(k) > MaxLabelName:
			long = append(long, k)
		case len(v) > max:
			m[k] = cutTo(v, max)
		}
	}
	slices.Sort(long)
	for _, k := range long {
		v := m[k]
		delete(m, k)
		m[cutTo(k, MaxLabelName)] = cutTo(v, max)
	}
}

// cut returns s cut to MaxText bytes, at a rune boundary, and marked.
func cut(s string) string { return cutTo(s, MaxText) }

// cutTo returns s cut to max bytes, at a rune boundary, and marked.
func cutTo(s string, max int) string {
	if len(s) <= max {
		return s
	}
	n := max - len(truncated)
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return strings.ToValidUTF8(s[:n], "") + truncated
}

// listPath is the path of alert i of a list under "alerts".
func listPath(i int) string { return fmt.Sprintf("alerts[%d]", i) }

// onePath is the path of the one alert of a body.
func onePath(int) string { return "" }
