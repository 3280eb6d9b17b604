package twilio

import (
	"strings"
	"unicode"
)

// The GSM 03.38 default alphabet: a message made of these characters
// alone travels as 7-bit septets, 160 to a segment. One character outside
// it turns the whole message into UCS-2, 70 to a segment.
const (
	gsmBasic = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
		"¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
	// gsmExtension characters take two septets: an escape, then the code.
	gsmExtension = "\f^{}\\[]~|€"
)

// segmentSeptets is what one GSM-7 SMS segment holds.
const segmentSeptets = 160

var gsmSet = func() map[rune]int {
	m := make(map[rune]int, 140)
	for _, r := range gsmBasic {
		m[r] = 1
	}
	for _, r := range gsmExtension {
		m[r] = 2
	}
	return m
}()

// gsmFold maps characters outside the alphabet to a look-alike inside it.
var gsmFold = func() map[rune]string {
	m := make(map[rune]string, 200)
	for from, to := range map[string]string{
		"ÀÁÂÃĀĂĄ":      "A",
		"áâãāăą":       "a",
		"ĆĈĊČ":         "C",
		"çćĉċč¢":       "c",
		"ĎĐÐ":          "D",
		"ďđð":          "d",
		"ÈÊËĒĔĖĘĚ":     "E",
		"êëēĕėęě":      "e",
		"ĜĞĠĢ":         "G",
		"ĝğġģ":         "g",
		"ĤĦ":           "H",
		"ĥħ":           "h",
		"ÌÍÎÏĨĪĬĮİ":    "I",
		"íîïĩīĭįı":     "i",
		"Ĵ":            "J",
		"ĵ":            "j",
		"Ķ":            "K",
		"ķĸ":           "k",
		"ĹĻĽĿŁ":        "L",
		"ĺļľŀł":        "l",
		"ŃŅŇŊ":         "N",
		"ńņňŉŋ":        "n",
		"ÒÓÔÕŌŎŐ":      "O",
		"óôõōŏő":       "o",
		"ŔŖŘ":          "R",
		"ŕŗř":          "r",
		"ŚŜŞŠ":         "S",
		"śŝşš":         "s",
		"ŢŤŦ":          "T",
		"ţťŧ":          "t",
		"ÙÚÛŨŪŬŮŰŲ":    "U",
		"úûũūŭůűų":     "u",
		"Ŵ":            "W",
		"ŵ":            "w",
		"ÝŶŸ":          "Y",
		"ýÿŷ":          "y",
		"ŹŻŽ":          "Z",
		"źżž":          "z",
		"‘’‚‛′`´":      "'",
		"“”„‟″«»":      "\"",
		"‐‑‒–—―−":      "-",
		"•·∙":          "*",
		"×":            "x",
		"÷⁄":           "/",
		"µ":            "u",
		"\u00a0\u2007": " ",
	} {
		for _, r := range from {
			m[r] = to
		}
	}
	m['…'] = "..."
	m['Œ'], m['œ'] = "OE", "oe"
	m['Ĳ'], m['ĳ'] = "IJ", "ij"
	m['Þ'], m['þ'] = "TH", "th"
	m['™'] = "TM"
	m['©'] = "(c)"
	m['®'] = "(R)"
	m['≤'], m['≥'], m['≠'] = "<=", ">=", "!="
	m['→'], m['←'] = "->", "<-"
	return m
}()

// gsmText rewrites s into the GSM-7 alphabet on one line: characters
// outside it become a look-alike or are dropped, and runs of white space
// (line breaks included) become one space.
func gsmText(s string) string {
	var b strings.Builder
	space := false
	for _, r := range s {
		if r == '\n' || r == '\r' || r == '\f' || unicode.IsSpace(r) {
			space = true
			continue
		}
		var out string
		if _, ok := gsmSet[r]; ok {
			out = string(r)
		} else if f, ok := gsmFold[r]; ok {
			out = f
		} else {
			continue
		}
		if out == " " {
			space = true
			continue
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		b.WriteString(out)
	}
	return b.String()
}

// septets counts the GSM-7 septets s takes; ok is false when s has a
// character outside the alphabet.
func septets(s string) (n int, ok bool) {
	ok = true
	for _, r := range s {
		w, in := gsmSet[r]
		if !in {
			ok = false
			w = 1
		}
		n += w
	}
	return n, ok
}

// truncateSeptets cuts s, which is in the GSM-7 alphabet, to at most max
// septets, ending it with "..." when it cuts.
func truncateSeptets(s string, max int) string {
	if n, _ := septets(s); n <= max {
		return s
	}
	if max < 3 {
		return strings.Repeat(".", max)
	}
	budget := max - 3
	used, end := 0, 0
	for i, r := range s {
		w := gsmSet[r]
		if used+w > budget {
			break
		}
		used += w
		end = i + len(string(r))
	}
	cut := s[:end]
	// Prefer ending on a word when that loses little.
	if end < len(s) && s[end] != ' ' {
		if i := strings.LastIndexByte(cut, ' '); i > 0 && len(cut)-i <= maxWordCut {
			cut = cut[:i]
		}
	}
	return strings.TrimRight(cut, " ") + "..."
}

// maxWordCut is how far truncateSeptets goes back to end on a word.
const maxWordCut = 12
