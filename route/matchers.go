package route

import (
	"fmt"
	"strings"
	"unicode"

	"github.com/prometheus/alertmanager/matcher/parse"
	"github.com/prometheus/alertmanager/pkg/labels"

	"github.com/klaxonhq/klaxon"
)

// Classic is a matcher that only Alertmanager's classic parser reads,
// like severity=~"\d+" (an escape the UTF-8 parser refuses) or
// job=node exporter (a value with a space, unquoted). Alertmanager takes
// such a matcher by default, parsing it the classic way and warning, and
// so does Klaxon, so that rules copied from alertmanager.yml load as
// they are.
type Classic struct {
	// Path is the matcher's key path, like route.routes[0].matchers[1].
	Path  string
	Input string
	// As is the same matchers written so that both parsers read them
	// alike, like severity=~"\\d+".
	As string
}

// Warning says what c is and what to write instead.
func (c Classic) Warning() string {
	return "read with Alertmanager's classic parser, as Alertmanager v0.28 reads it; its UTF-8 parser, the default of later versions, refuses it: for both, write " + c.As
}

// parseMatchers parses each matcher of in, at key path path[i], as
// Alertmanager v0.28 does by default: with the UTF-8 parser, else with
// the classic one, each such matcher noted in classic. Where both read
// a matcher, the UTF-8 parser's reading is kept. Problems are appended
// to errs as *klaxon.FieldError values.
func parseMatchers(in []string, path string, errs []error, classic *[]Classic) (labels.Matchers, []error) {
	var out labels.Matchers
	for i, m := range in {
		key := fmt.Sprintf("%s[%d]", path, i)
		ms, err := parse.Matchers(m)
		if err != nil && whole(m) {
			if old, oldErr := labels.ParseMatchers(m); oldErr == nil && len(old) > 0 {
				ms, err = labels.Matchers(old), nil
				if classic != nil {
					*classic = append(*classic, Classic{Path: key, Input: m, As: written(ms)})
				}
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
// and no operator of m is cut short, at its end or before a comma: the
// classic parser takes {c="1", severity=~ and severity=~, c="1" (as
// severity=~""), which are matchers cut short.
func whole(m string) bool {
	t := strings.TrimSpace(m)
	if t == "" || strings.HasPrefix(t, "{") != strings.HasSuffix(t, "}") {
		return false
	}
	if strings.HasPrefix(t, "{") && (!strings.HasPrefix(m, "{") || !strings.HasSuffix(m, "}")) {
		return false
	}
	// Commas outside quotes part the matchers, as the classic parser
	// finds them; the end is one too.
	var quoted, escaped bool
	var last rune // the latest rune that is not a space
	for _, r := range strings.TrimSuffix(t, "}") + "," {
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
