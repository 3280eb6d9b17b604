package web_test

import (
	"fmt"
	"html"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
)

// TestLatestEventsInReach: the timeline of a storm's incident holds an
// event for every alert that joined it, oldest first, 50 to a page; what
// people did (the ack, a note, a page that failed) comes after them. The
// incident's page must reach the timeline's latest events in one click:
// with only "next events", the note written a minute ago on an incident
// of 3,000 alerts is 60 clicks away.
func TestLatestEventsInReach(t *testing.T) {
	r := newRig(t)
	id := r.Open(t, "db")
	const n = 3000
	for done := 0; done < n; done += 1000 {
		r.Update(t, id, func(inc *klaxon.Incident) {
			for i := done; i < done+1000; i++ {
				a := klaxon.AlertState{Alert: klaxon.Alert{Key: fmt.Sprintf("prometheus/%05d", i), Status: klaxon.Firing, Summary: "disk full"}, Count: 1, FirstSeen: t0, LastSeen: t0}
				inc.Changed = append(inc.Changed, a)
				inc.Record(klaxon.Event{At: t0, Kind: klaxon.EventAlertJoined, Alert: a.Key})
			}
			inc.AlertCount += 1000
		})
	}
	_, err := r.Engine.Note(t.Context(), id, "failing over to the replica", false, klaxon.Actor{By: "alice", How: "web"})
	require.NoError(t, err)
	b := r.signedIn(t, readToken)

	_, body, _ := b.get("/incidents/" + id)
	require.NotContains(t, body, "failing over to the replica")
	var seen []string
	for _, m := range regexp.MustCompile(`href="(/incidents/`+id+`\?[^"]*events=[^"]*)"`).FindAllStringSubmatch(body, -1) {
		link := html.UnescapeString(m[1])
		seen = append(seen, link)
		_, page, _ := b.get(link)
		if regexp.MustCompile(`note by alice via web: failing over to the replica`).MatchString(page) {
			require.True(t, strings.Contains(page, fmt.Sprintf("of %d events.", n+1)), "the events of %s", link)
			return
		}
	}
	t.Fatalf("no link of the incident's page shows its latest events; its timeline links: %v", seen)
}
