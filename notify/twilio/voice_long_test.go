package twilio_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/notify/twilio"
)

var sayRE = regexp.MustCompile(`(?s)<Say>(.*?)</Say>`)

// TestCallOfLongSummary: an incident whose summary is 16 KiB (as ingest
// keeps it) is still spoken within Twilio's 4,096 characters a <Say>,
// to a person and to an answering machine.
func TestCallOfLongSummary(t *testing.T) {
	r := newRig(t)
	id := r.Open(t, "payments", klaxon.Sent{Notification: 1, User: "alice", Via: klaxon.ViaVoice, At: t0})
	r.Update(t, id, func(inc *klaxon.Incident) { inc.Summary = strings.Repeat("disk full on db-17 ", 16*1024/19) })
	for _, by := range []string{"human", "machine_start"} {
		code, out := r.post(t, twilio.VoicePath+"?incident="+id+"&n=1", url.Values{"CallSid": {"CA1"}, "To": {alicePhone}, "AnsweredBy": {by}}, "")
		require.Equal(t, http.StatusOK, code, out)
		for _, m := range sayRE.FindAllStringSubmatch(out, -1) {
			require.LessOrEqual(t, utf8.RuneCountInString(m[1]), 4096, "answered by %s: a <Say> Twilio takes", by)
		}
	}
}
