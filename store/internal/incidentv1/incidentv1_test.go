package incidentv1

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
)

// doc is an incident of layout 1 as the previous version wrote it: two
// alerts, one resolved; a page sent, reported failed, and one sent again.
const doc = `{"id":"7","group":"g","summary":"disk full","state":"triggered","created_at":"2026-11-26T10:00:00Z",` +
	`"alerts":[{"key":"am/a","integration":"am","status":"firing","summary":"disk full","count":2,"first_seen":"2026-11-26T10:00:00Z","last_seen":"2026-11-26T10:01:00Z"},` +
	`{"key":"am/b","integration":"am","status":"resolved","summary":"disk full","count":1,"first_seen":"2026-11-26T10:00:00Z","last_seen":"2026-11-26T10:02:00Z"}],` +
	`"timeline":[{"at":"2026-11-26T10:00:00Z","kind":"triggered","alert":"am/a"},` +
	`{"at":"2026-11-26T10:00:01Z","kind":"page_sent","step":0,"notification":1,"user":"alice","via":"sms"},` +
	`{"at":"2026-11-26T10:00:05Z","kind":"page_failed","step":0,"notification":1,"user":"alice","via":"sms","text":"undelivered"},` +
	`{"at":"2026-11-26T10:00:06Z","kind":"page_sent","step":0,"notification":2,"user":"alice","via":"voice"}],` +
	`"policy":{"name":"p","steps":null},"escalation":{"step":0,"round":0},"seq":2}`

func TestDecode(t *testing.T) {
	require.True(t, Is([]byte(doc)))
	inc, err := Decode([]byte(doc))
	require.NoError(t, err)
	require.Equal(t, "7", inc.ID)
	require.Equal(t, 2, inc.AlertCount)
	require.Equal(t, 1, inc.FiringCount)
	require.Len(t, inc.Changed, 2, "the alerts, to be written as records")
	require.Len(t, inc.Recorded, 4, "the timeline, to be appended")
	at := time.Date(2026, 11, 26, 10, 0, 1, 0, time.UTC)
	require.True(t, at.Equal(inc.PagedAt))
	require.Equal(t, []klaxon.Sent{
		{Notification: 1, Step: 0, User: "alice", Via: "sms", At: inc.Sent[0].At, Failed: true},
		{Notification: 2, Step: 0, User: "alice", Via: "voice", At: inc.Sent[1].At},
	}, inc.Sent)

	header := `{"id":"7","group":"g","state":"triggered","alert_count":2}`
	require.False(t, Is([]byte(header)), "layout 2 headers have no timeline")
	require.False(t, Is([]byte("not json")))
	_, err = Decode([]byte("not json"))
	require.ErrorContains(t, err, "layout 1")
}

// FuzzDecode: any stored bytes decode or fail with an error, never panic,
// and the counts agree with the alerts.
//
//	go test -run='^$' -fuzz=FuzzDecode -fuzztime=15s ./store/internal/incidentv1
func FuzzDecode(f *testing.F) {
	f.Add([]byte(doc))
	f.Add([]byte(`{"timeline":[]}`))
	f.Add([]byte(`{"alerts":[{"status":"firing"}],"timeline":[{"kind":"page_delivered","notification":3}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		inc, err := Decode(body)
		if err != nil {
			return
		}
		require.Equal(t, len(inc.Changed), inc.AlertCount)
		require.LessOrEqual(t, inc.FiringCount, inc.AlertCount)
		for _, s := range inc.Sent {
			require.NotZero(t, s.Notification)
		}
	})
}
