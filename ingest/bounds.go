package ingest

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/klaxonhq/klaxon"
)

// Bounds on what an alert may carry. Keys and labels identify and route
// an alert, and become keys in the store (bbolt refuses keys over 32 KiB):
// over the bound they are refused, naming the field, so that a sender
// never retries a 500 forever. Free text is cut to its bound and marked.
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
		for k, v := range a.Labels {
			if len(k) > MaxLabelName {
				return longName(join(at(i), "labels"), k)
			}
			if len(v) > MaxLabelValue {
				return klaxon.Invalid(join(at(i), "labels."+k), "%d bytes: a label's value is at most %d", len(v), MaxLabelValue)
			}
		}
		for k, v := range a.Annotations {
			if len(k) > MaxLabelName {
				return longName(join(at(i), "annotations"), k)
			}
			if len(v) > MaxText {
				a.Annotations[k] = cut(v)
			}
		}
		a.Summary, a.Source, a.URL = cut(a.Summary), cut(a.Source), cut(a.URL)
		if len(a.Severity) > MaxLabelValue {
			return klaxon.Invalid(join(at(i), "severity"), "%d bytes: at most %d", len(a.Severity), MaxLabelValue)
		}
	}
	return nil
}

// longName refuses a label's or annotation's name over MaxLabelName.
func longName(path, name string) error {
	return klaxon.Invalid(path, "a name of %d bytes (%q…): at most %d", len(name), name[:16], MaxLabelName)
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
