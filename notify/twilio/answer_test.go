package twilio

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestOutcomeFits: an answer tells each incident in detail while that
// fits an SMS, then their IDs, then as many as fit and how many more;
// failures are cut the same way, and a text too long by itself is cut.
func TestOutcomeFits(t *testing.T) {
	ids := func(n int) []string {
		var out []string
		for i := range n {
			out = append(out, fmt.Sprint(i+1))
		}
		return out
	}
	about := map[string]string{"1": "db: disk full", "2": "web: 5xx"}
	small := outcome{done: "Acknowledged", ok: []string{"1", "2"}, about: about, later: []string{"9"}}
	require.Equal(t, "Acknowledged #1 (db: disk full); Acknowledged #2 (web: 5xx); not #9: paged you after this reply", small.text())

	many := outcome{done: "Acknowledged", ok: ids(30), about: map[string]string{}}
	for _, id := range many.ok {
		many.about[id] = strings.Repeat("x", 100)
	}
	require.Equal(t, "Acknowledged "+"#"+strings.Join(ids(30), " #"), many.text(), "IDs alone, once the details do not fit")

	var failed []string
	for i := range 200 {
		failed = append(failed, fmt.Sprintf("#%d not changed: incident %d is resolved", i+1, i+1))
	}
	storm := outcome{done: "Acknowledged", ok: ids(500), about: map[string]string{}, failed: failed, later: ids(300)}
	text := storm.text()
	require.LessOrEqual(t, units(text), MaxAnswer)
	require.Regexp(t, `^Acknowledged #1 (#\d+ )*… and \d+ more; #1 not changed: .*; \d+ more not changed; not #1 (#\d+ )*… and \d+ more: paged you after this reply$`, text)

	long := outcome{done: "Acknowledged", ok: []string{"1"}, about: map[string]string{"1": strings.Repeat("é😀", 2000)}}
	require.Equal(t, "Acknowledged #1", long.text(), "a description too long is left out")
	fits := strings.Repeat("a", MaxAnswer)
	require.Equal(t, fits, cutUnits(fits, MaxAnswer), "a text that fits is not cut")
	cut := cutUnits(strings.Repeat("😀", 1000), MaxAnswer)
	require.LessOrEqual(t, units(cut), MaxAnswer)
	require.True(t, strings.HasSuffix(cut, "😀…"), "cut between runes, marked")
}
