package review

import (
	"strconv"
	"strings"
	"unicode"
)

// step says a step index as people count: 0 is step 1; the fallback's
// (escalate.FallbackStep, -1) is "fallback". nil is "—".
func step(s *int) string {
	switch {
	case s == nil:
		return "—"
	case *s < 0:
		return "fallback"
	}
	return strconv.Itoa(*s + 1)
}

func number(n int) string {
	if n == 0 {
		return "—"
	}
	return strconv.Itoa(n)
}

// text escapes s for a table cell, "—" when s is empty.
func text(s string) string {
	if s == "" {
		return "—"
	}
	return escape(s)
}

// escape makes s read as written in Markdown, in a table cell or a
// heading: ASCII punctuation that Markdown or GitHub reads as syntax
// (emphasis, code, links, HTML, tables, strikethrough, math, entities)
// is escaped with a backslash, but for an underscore within a word, which
// CommonMark never reads as emphasis; a line break becomes <br>, and any other
// control character a space.
func escape(s string) string {
	var b strings.Builder
	r := []rune(strings.ReplaceAll(s, "\r\n", "\n"))
	word := func(i int) bool {
		return i >= 0 && i < len(r) && (unicode.IsLetter(r[i]) || unicode.IsDigit(r[i]))
	}
	for i, c := range r {
		switch {
		case c == '\n' || c == '\r':
			b.WriteString("<br>")
		case c == '_' && word(i-1) && word(i+1):
			b.WriteRune(c) // within a word, _ is no emphasis: page_sent
		case strings.ContainsRune("\\`*_[]<>|~$&", c):
			b.WriteByte('\\')
			b.WriteRune(c)
		case unicode.IsControl(c):
			b.WriteByte(' ')
		default:
			b.WriteRune(c)
		}
	}
	return b.String()
}

// oneLine puts s on one line, for a heading.
func oneLine(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\r", "\n")), " ")
}
