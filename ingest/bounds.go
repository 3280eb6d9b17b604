package ingest

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strconv"
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
	// An alert's labels, and its annotations, names and values in all:
	// an alert is read whole wherever it is shown, a page of 100 of them
	// by the API and the console, and one of a thousand annotations of
	// 16 KiB made each page of its incident's alerts 16 MB. Past the
	// bound, the entries that do not fit are dropped: the well-known
	// ones are kept first (see keptFirst), then the shortest, which are
	// those a route matches or groups by (namespace="payments") far more
	// often than the long ones that fill an alert, and the count of
	// those dropped is said under DroppedLabels or DroppedAnnotations.
	MaxLabels      = 32 * 1024
	MaxAnnotations = 64 * 1024
)

// The label and annotation that count the entries an alert's bound
// dropped.
const (
	DroppedLabels      = "klaxon_dropped_labels"
	DroppedAnnotations = "klaxon_dropped_annotations"
)

// keptFirst are the labels and annotations an alert over its bound
// keeps first, before the others by name: those that route, group and
// describe it.
var keptFirst = map[string]int{
	"alertname": 1, klaxon.LabelIntegration: 2, "service": 3, "severity": 4, "priority": 5, "team": 6, "env": 7,
	"summary": 1, "description": 2, "message": 3, "runbook_url": 4, "dashboard_url": 5,
}

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
		if cutMap(a.Labels, MaxLabelValue) > MaxLabels {
			budget(a.Labels, MaxLabels, DroppedLabels)
		}
		if cutMap(a.Annotations, MaxText) > MaxAnnotations {
			budget(a.Annotations, MaxAnnotations, DroppedAnnotations)
		}
		a.Summary, a.Source, a.URL = cut(a.Summary), cut(a.Source), cut(a.URL)
		a.Severity = cutTo(a.Severity, MaxLabelValue)
	}
	return nil
}

// BoundLabels cuts labels, in place, to the bounds ingest cuts an
// alert's labels to (MaxLabelName, MaxLabelValue, MaxLabels), and
// reports whether it cut any: for a tool that says where an alert with
// these labels goes (klaxon route test), as ingest routes the alert.
func BoundLabels(labels map[string]string) bool {
	before := maps.Clone(labels)
	if cutMap(labels, MaxLabelValue) > MaxLabels {
		budget(labels, MaxLabels, DroppedLabels)
	}
	return !maps.Equal(before, labels)
}

// cutMap cuts m's names to MaxLabelName and its values to max, each
// marked, and returns the bytes of names and values it then holds in
// all. Two long names that share their first bytes up to the bound
// become one, the value of the greater winning.
func cutMap(m map[string]string, max int) int {
	var long []string
	size := 0
	for k, v := range m {
		switch {
		case len(k) > MaxLabelName:
			long = append(long, k)
			continue
		case len(v) > max:
			v = cutTo(v, max)
			m[k] = v
		}
		size += len(k) + len(v)
	}
	slices.Sort(long)
	for _, k := range long {
		v := m[k]
		delete(m, k)
		k = cutTo(k, MaxLabelName)
		if old, ok := m[k]; ok {
			size -= len(old)
		} else {
			size += len(k)
		}
		m[k] = cutTo(v, max)
		size += len(m[k])
	}
	return size
}

// budget keeps m, which holds more, within max bytes of names and
// values in all: the entries keptFirst names first, then the shortest
// (then by name), while they fit, and under dropped the count of those
// it dropped.
func budget(m map[string]string, max int, dropped string) {
	names := slices.Collect(maps.Keys(m))
	slices.SortFunc(names, func(a, b string) int {
		ra, rb := keptFirst[a], keptFirst[b]
		if ra == 0 {
			ra = len(keptFirst) + 1
		}
		if rb == 0 {
			rb = len(keptFirst) + 1
		}
		return cmp.Or(cmp.Compare(ra, rb), cmp.Compare(len(a)+len(m[a]), len(b)+len(m[b])), strings.Compare(a, b))
	})
	left := max - len(dropped) - len("1000000") // room for the count
	n := 0
	for _, k := range names {
		if size := len(k) + len(m[k]); size <= left {
			left -= size
			continue
		}
		delete(m, k)
		n++
	}
	if n > 0 {
		m[dropped] = strconv.Itoa(n)
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
