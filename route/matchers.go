package route

import (
	"fmt"
	"reflect"
	"strings"
	"unicode"

	"github.com/prometheus/alertmanager/matcher/parse"
	"github.com/prometheus/alertmanager/pkg/labels"

	"github.com/klaxonhq/klaxon"
)

// Classic is a matcher that Alertmanager's two parsers do not read
// alike. Most are read by its classic parser alone, like
// severity=~"\d+" (an escape the UTF-8 parser refuses) or job=node
// exporter (a value with a space, unquoted): Alertmanager v0.28 takes
// such a matcher by default, parsing it the classic way and warning, and
// so does Klaxon, so that rules copied from alertmanager.yml load as
// they are. A few both read, each its own way, like a="\x41" (an A to
// the UTF-8 parser, a backslash and x41 to the classic one): Klaxon
// keeps the UTF-8 reading it always had, the default of later
// Alertmanagers, where Alertmanager v0.28 takes the classic one.
type Classic struct {
	// Path is the matcher's key path, like route.routes[0].matchers[1].
	Path  string
	Input string
	// As is the matchers as Klaxon reads them, written so that both
	// parsers read them alike, like severity=~"\\d+".
	As string
	// Otherwise is how the classic parser reads a matcher that the
	// UTF-8 parser reads too, otherwise; empty for one it alone reads.
	Otherwise string
}

// Warning says what c is and what to write instead.
func (c Classic) Warning() string {
	if c.Otherwise != "" {
		return fmt.Sprintf("read as %s, as Alertmanager's UTF-8 parser, the default of later versions, reads it; Alertmanager v0.28 reads it with its classic parser, as %s: to be read alike by both, write %s", c.As, c.Otherwise, c.As)
	}
	return "read with Alertmanager's classic parser, as Alertmanager v0.28 reads it; its UTF-8 parser, the default of later versions, refuses it: for both, write " + c.As
}

// parseMatchers parses each matcher of in, at key path path[i], as
// Alertmanager v0.28 does by default: with the UTF-8 parser, else with
// the classic one, each matcher the parsers do not read alike noted in
// classic. Where both read a matcher, the UTF-8 parser's reading is
// kept. With classic nil, a matcher that only the classic parser reads
// is refused, saying what to write: a runtime window's matchers are kept
// as written, for every replica to read, an older Klaxon's too. Problems
// are appended to errs as *klaxon.FieldError values.
func parseMatchers(in []string, path string, errs []error, classic *[]Classic) (labels.Matchers, []error) {
	var out labels.Matchers
	for i, m := range in {
		key := fmt.Sprintf("%s[%d]", path, i)
		ms, err := parse.Matchers(m)
		if err != nil || classic != nil { // the classic reading matters
			old, oldErr := labels.ParseMatchers(m)
			classicOnly := err != nil && oldErr == nil && len(old) > 0 && whole(m)
			switch {
			case classicOnly && classic == nil:
				err = fmt.Errorf("%w (Alertmanager's classic parser reads it: write %s)", err, written(old))
			case classicOnly:
				ms, err = labels.Matchers(old), nil
				*classic = append(*classic, Classic{Path: key, Input: m, As: written(ms)})
			case err == nil && oldErr == nil && !reflect.DeepEqual(ms, labels.Matchers(old)):
				*classic = append(*classic, Classic{Path: key, Input: m, As: written(ms), Otherwise: written(old)})
			}
		}
		if err == nil && len(ms) == 0 {
			err = fmt.Errorf("no matcher")
		}
		if err != nil {
			errs = append(errs, klaxon.Invalid(key, "bad matcher %q: %v", m, err))
			continue
		}
		out = append(out, ms...)
	}
	return out, errs
}

// whole reports whether the classic parser reads m as written: m closes
// a brace exactly when it opens one, with nothing past it (the classic
// parser trims a brace only at the very ends, and reads one followed by a
// space into the value: {job=node exporter} as job="node exporter}"),
// no brace outside quotes but that pair, and no operator of m is cut
// short, at its end or before a comma: the classic parser takes
// {c="1", severity=~ and severity=~, c="1" (as severity=~""), which are
// matchers cut short.
func whole(m string) bool {
	t := strings.TrimSpace(m)
	if t == "" || strings.HasPrefix(t, "{") != strings.HasSuffix(t, "}") {
		return false
	}
	if strings.HasPrefix(t, "{") && (!strings.HasPrefix(m, "{") || !strings.HasSuffix(m, "}")) {
		return false
	}
	// Commas outside quotes part the matchers, as the classic parser
	// finds them; the end is one too. A brace outside quotes, but for
	// the pair around the whole, is stray: the classic parser reads it
	// into a value ({job=node exporter}}: job="node exporter}").
	var quoted, escaped bool
	var last rune // the latest rune that is not a space
	for _, r := range strings.TrimPrefix(strings.TrimSuffix(t, "}"), "{") + "," {
		if !quoted && (r == '{' || r == '}') {
			return false
		}
		switch r {
		case '"':
			if !escaped {
				quoted = !quoted
			}
			escaped = false
		case '\\':
			escaped = !escaped
		default:
			escaped = false
		}
		if r == ',' && !quoted && (last == '=' || last == '~') {
			return false
		}
		if !unicode.IsSpace(r) {
			last = r
		}
	}
	return true
}

// written writes ms in the syntax that both parsers read alike.
func written(ms labels.Matchers) string {
	if len(ms) == 1 {
		return ms[0].String()
	}
	return ms.String()
}
