package groupcache

import (
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
)

func TestCache(t *testing.T) {
	c := New(2, false)
	_, _, ok := c.Get("a")
	require.False(t, ok)
	inc := &klaxon.Incident{ID: "1"}
	put := func(key string, version uint64, open *klaxon.Incident) {
		c.Read(klaxon.Group{Key: key, Version: version, Open: open})
	}
	put("a", 3, inc)
	v, got, ok := c.Get("a")
	require.True(t, ok)
	require.Equal(t, uint64(3), v)
	require.Same(t, inc, got)
	put("a", 4, nil)
	v, got, _ = c.Get("a")
	require.Equal(t, uint64(4), v)
	require.Nil(t, got)
	put("b", 1, nil)
	put("c", 1, nil) // full: starts again
	_, _, ok = c.Get("a")
	require.False(t, ok)
	_, _, ok = c.Get("c")
	require.True(t, ok)
	_, ok = c.Group("c", nil)
	require.False(t, ok, "a cache without alerts answers no read")
}

// TestCommitted: a commit that landed leaves its open incident's header
// at the next version, a copy that the committer's later changes do not
// reach.
func TestCommitted(t *testing.T) {
	c := New(4, false)
	inc := &klaxon.Incident{ID: "7", Sent: []klaxon.Sent{{Notification: 1, User: "alice"}},
		Changed: []klaxon.AlertState{{Count: 1}}, Recorded: []klaxon.Event{{Kind: klaxon.EventTriggered}}}
	c.Committed(klaxon.Commit{Group: "g", Version: 2, Open: "7", Incidents: []*klaxon.Incident{inc}}, "")
	v, got, ok := c.Get("g")
	require.True(t, ok)
	require.Equal(t, uint64(3), v)
	require.Equal(t, "7", got.ID)
	require.Nil(t, got.Changed, "a header holds no alerts")
	require.Nil(t, got.Recorded, "nor events")
	inc.Sent[0].Delivered = true
	require.False(t, got.Sent[0].Delivered)
	c.Committed(klaxon.Commit{Group: "h", Version: 0, Incidents: []*klaxon.Incident{inc}}, "")
	_, open, ok := c.Get("h")
	require.True(t, ok)
	require.Nil(t, open, "a commit that leaves no open incident holds none")
}

func alert(key string, count int) klaxon.AlertState {
	return klaxon.AlertState{Alert: klaxon.Alert{Key: key, Status: klaxon.Firing}, Count: count}
}

// TestCommittedSameHeader: a commit on the state held whose open
// incident's header is the one held keeps that header, not a copy; one
// whose header changed, or that was not computed on the state held,
// holds a copy of its own.
func TestCommittedSameHeader(t *testing.T) {
	c := New(4, false)
	inc := &klaxon.Incident{ID: "7", AlertCount: 1, Sent: []klaxon.Sent{{Notification: 1, User: "alice"}}}
	c.Committed(klaxon.Commit{Group: "g", Version: 2, Token: "t1", Open: "7", Incidents: []*klaxon.Incident{inc}}, "t2")
	_, held, _ := c.Get("g")

	occurrence := inc.Header() // an alert it holds fired again: no header change
	occurrence.Changed = []klaxon.AlertState{{Alert: klaxon.Alert{Key: "a"}, Count: 2}}
	c.Committed(klaxon.Commit{Group: "g", Version: 3, Token: "t2", Open: "7", Incidents: []*klaxon.Incident{occurrence}}, "t3")
	v, got, _ := c.Get("g")
	require.Equal(t, uint64(4), v)
	require.Same(t, held, got, "the same header is kept as held")
	require.Nil(t, got.Changed)

	joined := inc.Header() // an alert joined: its counts moved
	joined.AlertCount = 2
	c.Committed(klaxon.Commit{Group: "g", Version: 4, Token: "t3", Open: "7", Incidents: []*klaxon.Incident{joined}}, "t4")
	_, got, _ = c.Get("g")
	require.NotSame(t, held, got)
	require.NotSame(t, joined, got, "a copy, not the committer's")
	require.Equal(t, 2, got.AlertCount)

	// Not on the state held (another token): a copy, even of the same header.
	again := got.Header()
	c.Committed(klaxon.Commit{Group: "g", Version: 5, Token: "other", Open: "7", Incidents: []*klaxon.Incident{again}}, "t6")
	_, now, _ := c.Get("g")
	require.NotSame(t, got, now)
	require.NotSame(t, again, now)
}

// TestGroup: a read is answered only for alerts the cache knows, or
// knows the incident lacks; and only for the state the cache was told of.
func TestGroup(t *testing.T) {
	c := New(8, true)
	_, ok := c.Group("g", []string{"a"})
	require.False(t, ok, "a group never read")

	// A read of an incident holding a, asked for a and b.
	open := &klaxon.Incident{ID: "1", AlertCount: 3}
	c.Read(klaxon.Group{Key: "g", Version: 4, Token: "t4", Open: open,
		Alerts: map[string]klaxon.Seen{"a": {Count: 2}}})
	g, ok := c.Group("g", []string{"a"})
	require.True(t, ok)
	require.Equal(t, klaxon.Group{Key: "g", Version: 4, Token: "t4", Open: open, Alerts: map[string]klaxon.Seen{"a": {Count: 2}}}, g)
	g.Alerts["a"] = klaxon.Seen{Count: 99}
	g, _ = c.Group("g", []string{"a"})
	require.Equal(t, 2, g.Alerts["a"].Count, "the map answered is the caller's")
	_, ok = c.Group("g", []string{"a", "b"})
	require.False(t, ok, "b was asked but the incident may hold it: the read did not return it, yet the cache cannot tell")

	// A commit computed from that state adds what it changed.
	inc := &klaxon.Incident{ID: "1", AlertCount: 3, Changed: []klaxon.AlertState{alert("a", 3), alert("c", 1)}}
	c.Committed(klaxon.Commit{Group: "g", Version: 4, Token: "t4", Open: "1", Incidents: []*klaxon.Incident{inc}}, "t5")
	g, ok = c.Group("g", []string{"a", "c"})
	require.True(t, ok)
	require.Equal(t, uint64(5), g.Version)
	require.Equal(t, "t5", g.Token)
	require.Equal(t, 3, g.Alerts["a"].Count)
	require.Equal(t, 1, g.Alerts["c"].Count)
	_, ok = c.Group("g", []string{"b"})
	require.False(t, ok, "an incident known in part")

	// A commit computed from another state (a read elsewhere, a token
	// that differs) leaves only what it wrote.
	inc = &klaxon.Incident{ID: "1", AlertCount: 3, Changed: []klaxon.AlertState{alert("c", 2)}}
	c.Committed(klaxon.Commit{Group: "g", Version: 5, Token: "other", Open: "1", Incidents: []*klaxon.Incident{inc}}, "t6")
	_, ok = c.Group("g", []string{"a"})
	require.False(t, ok, "a stays unknown after a commit not computed from the cache's state")
	g, ok = c.Group("g", []string{"c"})
	require.True(t, ok)
	require.Equal(t, "t6", g.Token)

	// Resolved: no open incident holds nothing, whatever is asked.
	res := &klaxon.Incident{ID: "1", State: klaxon.StateResolved}
	c.Committed(klaxon.Commit{Group: "g", Version: 6, Token: "t6", Incidents: []*klaxon.Incident{res}}, "t7")
	g, ok = c.Group("g", []string{"a", "z"})
	require.True(t, ok)
	require.Nil(t, g.Open)
	require.Nil(t, g.Alerts)

	// An incident the next commit opens is known whole: an alert it does
	// not hold is answered as absent.
	opened := &klaxon.Incident{ID: "2", AlertCount: 1, Changed: []klaxon.AlertState{alert("z", 1)}}
	c.Committed(klaxon.Commit{Group: "g", Version: 7, Token: "t7", Open: "2", Incidents: []*klaxon.Incident{opened}}, "t8")
	g, ok = c.Group("g", []string{"z", "new"})
	require.True(t, ok)
	require.Equal(t, map[string]klaxon.Seen{"z": opened.Changed[0].Seen()}, g.Alerts)

	// A commit that leaves the open incident alone keeps what is known.
	other := &klaxon.Incident{ID: "1", State: klaxon.StateResolved}
	c.Committed(klaxon.Commit{Group: "g", Version: 8, Token: "t8", Open: "2", Incidents: []*klaxon.Incident{other}}, "t9")
	g, ok = c.Group("g", []string{"z", "new"})
	require.True(t, ok)
	require.Equal(t, uint64(9), g.Version)
	require.Len(t, g.Alerts, 1)

	// Refused: forgotten.
	c.Drop("g")
	_, ok = c.Group("g", nil)
	require.False(t, ok)
}

// TestGroupOpenedByAnother: an incident the cache did not see opened is
// not known whole, even when the commit writes all the cache saw of it.
func TestGroupOpenedByAnother(t *testing.T) {
	c := New(8, true)
	inc := &klaxon.Incident{ID: "5", AlertCount: 2, Changed: []klaxon.AlertState{alert("a", 1)}}
	c.Committed(klaxon.Commit{Group: "g", Version: 3, Token: "x", Open: "5", Incidents: []*klaxon.Incident{inc}}, "y")
	_, ok := c.Group("g", []string{"b"})
	require.False(t, ok)
	// Opened here, but the commit does not hold every alert it counts.
	c.Read(klaxon.Group{Key: "h", Version: 1, Token: "r"})
	inc = &klaxon.Incident{ID: "6", AlertCount: 2, Changed: []klaxon.AlertState{alert("a", 1)}}
	c.Committed(klaxon.Commit{Group: "h", Version: 1, Token: "r", Open: "6", Incidents: []*klaxon.Incident{inc}}, "s")
	_, ok = c.Group("h", []string{"b"})
	require.False(t, ok)
}

// TestMaxAlerts: an incident past MaxAlerts keeps its header, not its
// alerts.
func TestMaxAlerts(t *testing.T) {
	c := New(8, true)
	c.Read(klaxon.Group{Key: "g", Version: 1, Token: "r"})
	changed := make([]klaxon.AlertState, MaxAlerts+1)
	for i := range changed {
		changed[i] = alert(strconv.Itoa(i), 1)
	}
	inc := &klaxon.Incident{ID: "1", AlertCount: len(changed), Changed: changed}
	c.Committed(klaxon.Commit{Group: "g", Version: 1, Token: "r", Open: "1", Incidents: []*klaxon.Incident{inc}}, "s")
	_, ok := c.Group("g", []string{"0"})
	require.False(t, ok)
	v, open, ok := c.Get("g")
	require.True(t, ok)
	require.Equal(t, uint64(2), v)
	require.Equal(t, "1", open.ID)
}

// TestPutAt: a read of the file puts its header unless the cache holds
// the group at another version, a commit handed to it since the read.
func TestPutAt(t *testing.T) {
	c := New(8, false)
	later := &klaxon.Incident{ID: "1", Summary: "later"}
	c.Read(klaxon.Group{Key: "g", Version: 3, Open: later})
	c.PutAt("g", 2, &klaxon.Incident{ID: "1", Summary: "read before"})
	v, open, _ := c.Get("g")
	require.Equal(t, uint64(3), v)
	require.Same(t, later, open)
	read := &klaxon.Incident{ID: "1", Summary: "read at 3"}
	c.PutAt("g", 3, read)
	c.PutAt("h", 1, read)
	_, open, _ = c.Get("h")
	require.Same(t, read, open, "a group the cache does not hold")
}

// TestHeader: the header held is answered only for the state it is of,
// its version and its last commit's token, and not once a commit found
// that state gone.
func TestHeader(t *testing.T) {
	c := New(8, false)
	inc := &klaxon.Incident{ID: "1", Summary: "held"}
	c.Committed(klaxon.Commit{Group: "g", Version: 4, Open: "1", Incidents: []*klaxon.Incident{inc}}, "t5")
	require.Equal(t, "held", c.Header("g", 5, "t5").Summary)
	require.Nil(t, c.Header("g", 4, "t5"), "another version")
	require.Nil(t, c.Header("g", 5, "t6"), "another commit at that version")
	require.Nil(t, c.Header("h", 5, "t5"), "another group")
	c.Drop("g")
	require.Nil(t, c.Header("g", 5, "t5"), "a state found gone")
	c.Committed(klaxon.Commit{Group: "g", Version: 5, Token: "t5"}, "t6")
	require.Nil(t, c.Header("g", 6, "t6"), "no open incident")
}

// TestMaxHeld: past MaxHeld alerts taken in across groups, the cache
// starts again empty; the commit that crossed it stays.
func TestMaxHeld(t *testing.T) {
	c := New(64, true)
	c.maxHeld = 250
	commit := func(group string, n int) {
		changed := make([]klaxon.AlertState, n)
		for i := range changed {
			changed[i] = alert(group+"/"+strconv.Itoa(i), 1)
		}
		inc := &klaxon.Incident{ID: group, AlertCount: n, Changed: changed}
		c.Read(klaxon.Group{Key: group, Version: 1, Token: "r"})
		c.Committed(klaxon.Commit{Group: group, Version: 1, Token: "r", Open: group, Incidents: []*klaxon.Incident{inc}}, "s")
	}
	commit("a", 100)
	commit("b", 100)
	_, ok := c.Group("a", []string{"a/0"})
	require.True(t, ok, "200 alerts held: under the bound")
	commit("c", 100)
	_, ok = c.Group("a", []string{"a/0"})
	require.False(t, ok, "300 taken in: the cache started again")
	g, ok := c.Group("c", []string{"c/0", "c/99"})
	require.True(t, ok, "the commit that crossed the bound is held")
	require.Len(t, g.Alerts, 2)
}

// TestGroupAfterForeignCommit: after another replica's commit, a read of
// the new state keeps which alerts the incident holds, and only the
// values read are current; the cache knows the incident whole again
// when it holds as many alerts as the incident counts.
func TestGroupAfterForeignCommit(t *testing.T) {
	c := New(8, true)
	c.Read(klaxon.Group{Key: "g", Version: 1, Token: "t1"})
	opened := &klaxon.Incident{ID: "1", AlertCount: 2, Changed: []klaxon.AlertState{alert("a", 1), alert("b", 1)}}
	c.Committed(klaxon.Commit{Group: "g", Version: 1, Token: "t1", Open: "1", Incidents: []*klaxon.Incident{opened}}, "t2")
	_, ok := c.Group("g", []string{"a", "new"})
	require.True(t, ok)

	// Another replica's commit came in between: refused, then read.
	c.Drop("g")
	_, ok = c.Group("g", []string{"a"})
	require.False(t, ok, "a refused state answers nothing")
	_, open, ok := c.Get("g")
	require.False(t, ok)
	require.Nil(t, open)
	header := &klaxon.Incident{ID: "1", AlertCount: 3}
	c.Read(klaxon.Group{Key: "g", Version: 3, Token: "t3", Open: header, Alerts: map[string]klaxon.Seen{"a": {Count: 5}}})
	g, ok := c.Group("g", []string{"a"})
	require.True(t, ok)
	require.Equal(t, 5, g.Alerts["a"].Count, "the value read")
	_, ok = c.Group("g", []string{"b"})
	require.False(t, ok, "b is the incident's, its value may have changed")
	_, ok = c.Group("g", []string{"new"})
	require.False(t, ok, "the incident counts an alert the cache does not know")

	// A commit from that state adds the third alert: whole again.
	inc := &klaxon.Incident{ID: "1", AlertCount: 3, Changed: []klaxon.AlertState{alert("c", 1)}}
	c.Committed(klaxon.Commit{Group: "g", Version: 3, Token: "t3", Open: "1", Incidents: []*klaxon.Incident{inc}}, "t4")
	g, ok = c.Group("g", []string{"a", "c", "new"})
	require.True(t, ok)
	require.Equal(t, map[string]klaxon.Seen{"a": {Count: 5}, "c": inc.Changed[0].Seen()}, g.Alerts)
	_, ok = c.Group("g", []string{"b"})
	require.False(t, ok, "b's value is still to be read")
}
