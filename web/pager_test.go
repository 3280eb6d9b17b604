package web_test

import (
	"fmt"
	"html"
	"net/url"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
)

// TestIncidentPagersKeepEachOther: an incident's page has two pagers, its
// alerts' (?alerts=CURSOR) and its timeline's (?events=OFFSET), and each
// link of one keeps where the other is. Paging the timeline of a storm's
// incident (thousands of pages of 50 events) sends the alerts back to
// their first page, and paging the alerts sends the timeline back to its
// first event: a responder who went through 40 pages of events to where
// people acted loses them by looking at the next alerts.
func TestIncidentPagersKeepEachOther(t *testing.T) {
	r := newRig(t)
	id := r.Open(t, "db")
	r.Update(t, id, func(inc *klaxon.Incident) {
		for i := range 200 {
			a := klaxon.AlertState{Alert: klaxon.Alert{Key: fmt.Sprintf("prometheus/%03d", i), Status: klaxon.Firing, Summary: "disk " + strconv.Itoa(i)},
				Count: 1, FirstSeen: t0, LastSeen: t0}
			inc.Changed = append(inc.Changed, a)
			inc.Record(klaxon.Event{At: t0, Kind: klaxon.EventAlertJoined, Alert: a.Key})
		}
		inc.AlertCount, inc.FiringCount = 200, 200
	})
	b := r.signedIn(t, readToken)
	_, body, _ := b.get("/incidents/" + id)
	cursor := html.UnescapeString(regexpFind(t, body, `\?alerts=([^"]+)">next alerts`))
	at := "/incidents/" + id + "?alerts=" + cursor + "&events=100"
	_, body, _ = b.get(at)
	require.Contains(t, body, ">disk 50</span>", "the second page of alerts")
	require.Contains(t, body, `<ol class="timeline" start="101">`, "the third page of events")

	alerts, err := url.QueryUnescape(cursor)
	require.NoError(t, err)
	tests := []struct {
		name, link string // the link's text
		key, keeps string // the parameter of the other pager, and its value
	}{
		{"next events keeps the alerts", "next events", "alerts", alerts},
		{"first events keeps the alerts", "first events", "alerts", alerts},
		{"next alerts keeps the events", "next alerts", "events", "100"},
		{"first alerts keeps the events", "first alerts", "events", "100"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			href := html.UnescapeString(regexpFind(t, body, `href="([^"]*)">`+tt.link+`<`))
			u, err := url.Parse(href)
			require.NoError(t, err)
			require.Equal(t, tt.keeps, u.Query().Get(tt.key), "%s links to %s", tt.link, href)
		})
	}
}
