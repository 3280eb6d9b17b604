package api

import (
	"encoding/json"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/incidenttest"
)

// TestTimelinePagingWhileAppended: a client that pages through an
// incident's timeline (GET /v1/incidents/{id}/timeline, following next,
// then asking from where it stopped) while notes are being added reads
// every event exactly once, in the order they were recorded.
func TestTimelinePagingWhileAppended(t *testing.T) {
	st := incidenttest.NewStore(t)
	s := engineServer(t, st)
	id := st.OpenIncident(t, "db", time.Date(2026, 11, 23, 22, 0, 0, 0, time.UTC))
	const notes = 200
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range notes {
			code, body := call(s, http.MethodPost, "/v1/incidents/"+id+"/notes", actToken, `{"text":"n`+strconv.Itoa(i)+`"}`)
			if code != http.StatusOK {
				t.Errorf("note %d: %d %s", i, code, body)
				return
			}
		}
	}()
	var got []string
	page := func() (next, total int) {
		code, body := call(s, http.MethodGet, "/v1/incidents/"+id+"/timeline?limit=7&offset="+strconv.Itoa(len(got)), readToken, "")
		require.Equal(t, http.StatusOK, code, body)
		var p TimelinePage
		require.NoError(t, json.Unmarshal([]byte(body), &p))
		for _, e := range p.Timeline {
			got = append(got, e.Text)
		}
		if p.Next != 0 {
			require.Equal(t, len(got), p.Next, "next is where the page ended")
		}
		return p.Next, p.Total
	}
	for writing := true; ; {
		select {
		case <-done:
			writing = false
		default:
		}
		if _, total := page(); !writing && len(got) >= total {
			break
		}
	}
	var want []string
	for i := range notes {
		want = append(want, "n"+strconv.Itoa(i))
	}
	require.Equal(t, want, got[len(got)-notes:], "every note once, in order")
	all, err := klaxon.ReadTimeline(t.Context(), st, id)
	require.NoError(t, err)
	require.Len(t, got, len(all), "no event read twice")
}
