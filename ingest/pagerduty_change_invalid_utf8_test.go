package ingest

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
)

// TestPagerDutyChangeStoredSizeInvalidUTF8: a change's custom_details
// at their bound of 4 KiB, as values that are JSON objects (kept as
// their JSON text) whose strings hold bytes that are not UTF-8, take at
// most twice their text as stored (klaxon.EncodeChange), as any other
// text does: an integration's 5,000 changes so hold at most some 160 MB
// (README, Change events). encoding/json writes each such byte as
// "\ufffd", six bytes.
func TestPagerDutyChangeStoredSizeInvalidUTF8(t *testing.T) {
	var details []string
	for i := range 8 {
		details = append(details, fmt.Sprintf(`"d%d": {"v": "%s"}`, i, strings.Repeat("\xff", 490)))
	}
	body := `{"routing_key": "rk", "payload": {"summary": "deploy", "custom_details": {` + strings.Join(details, ", ") + `}}}`
	ev, err := DecodePagerDutyChange([]byte(body))
	require.NoError(t, err)
	text := 0
	for k, v := range ev.Change.Details {
		text += len(k) + len(v)
	}
	require.LessOrEqual(t, text, MaxChangeDetails)
	stored, err := klaxon.EncodeChange(klaxon.Change{Details: ev.Change.Details})
	require.NoError(t, err)
	require.LessOrEqual(t, len(stored), 2*text+200, "custom_details of %d bytes of text take %d as stored", text, len(stored))
}
