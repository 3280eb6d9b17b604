package ingest

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
)

// TestPagerDutyChangeStoredSize: a change is held to about 16 KiB of
// text, and at most twice that as the stores keep it
// (klaxon.EncodeChange), so that an integration's 5,000 changes take at
// most some 160 MB of the disk or of Redis: its summary, source, details
// and links at their bounds, in characters JSON writes as they are, in
// those encoding/json would write in six bytes ("<", ">", "&", control
// characters), and in those it writes in two (quotes).
func TestPagerDutyChangeStoredSize(t *testing.T) {
	for _, tc := range []struct {
		name             string
		summary, another string // another fills the source, details and links
		most             int
	}{
		{"characters written as they are", "😀", "é", 17 * 1024},
		{"characters encoding/json escapes in six bytes", "<", "\x01", 17 * 1024},
		{"characters written in two bytes", `"`, `\`, 2 * 17 * 1024},
	} {
		t.Run(tc.name, func(t *testing.T) {
			details := map[string]string{}
			for i := range 64 {
				details[fmt.Sprintf("d%02d", i)] = strings.Repeat(tc.another, 100)
			}
			links := make([]map[string]string, MaxChangeLinks)
			for i := range links {
				links[i] = map[string]string{"href": strings.Repeat(tc.another, MaxChangeHref), "text": strings.Repeat(tc.another, MaxChangeText)}
			}
			body, err := json.Marshal(map[string]any{"routing_key": "rk", "links": links,
				"payload": map[string]any{"summary": strings.Repeat(tc.summary, maxSummary), "source": strings.Repeat(tc.another, MaxChangeSource), "custom_details": details}})
			require.NoError(t, err)
			ev, err := DecodePagerDutyChange(body)
			require.NoError(t, err)
			stored, err := klaxon.EncodeChange(ev.Change)
			require.NoError(t, err)
			require.LessOrEqual(t, len(stored), tc.most, "the change as stored")
		})
	}
}
