package incident

import (
	"strings"
	"time"
	"unicode/utf8"

	"github.com/klaxonhq/klaxon"
)

// MaxNote bounds a note's text, in bytes.
const MaxNote = 4096

// Roles an incident has.
const (
	RoleAssignee  = "assignee"
	RoleCommander = "commander"
)

// Note records a note by who on inc's timeline; update marks it as a
// status update for the incident's subscribers. Any incident takes notes,
// a resolved one too: the review is written after.
func Note(inc *klaxon.Incident, now time.Time, text string, update bool, who klaxon.Actor) error {
	text = strings.TrimSpace(text)
	switch {
	case text == "":
		return klaxon.Invalid("text", "a note needs text")
	case len(text) > MaxNote:
		return klaxon.Invalid("text", "a note is at most %d bytes, got %d", MaxNote, len(text))
	case !utf8.ValidString(text):
		return klaxon.Invalid("text", "not valid UTF-8")
	}
	kind := klaxon.EventNote
	if update {
		kind = klaxon.EventStatusUpdate
	}
	e := who.Event(now, kind)
	e.Text = text
	inc.Record(e)
	return nil
}

// Assign gives user the role (RoleAssignee or RoleCommander) on inc, for
// who; "" takes the role away. It reports false when user has the role
// already.
func Assign(inc *klaxon.Incident, now time.Time, role, user string, who klaxon.Actor) (changed bool, err error) {
	var to *string
	kind := klaxon.EventAssigned
	switch role {
	case RoleAssignee:
		to = &inc.Assignee
	case RoleCommander:
		to, kind = &inc.Commander, klaxon.EventCommanderSet
	default:
		return false, klaxon.Invalid("role", "must be %s or %s, got %q", RoleAssignee, RoleCommander, role)
	}
	if *to == user {
		return false, nil
	}
	*to = user
	e := who.Event(now, kind)
	e.User = user
	inc.Record(e)
	return true, nil
}

// assignFirst makes who the assignee of inc as they acknowledge it, when
// nobody is; the acknowledgement on the timeline says who.
func assignFirst(inc *klaxon.Incident, who klaxon.Actor) {
	if inc.Assignee == "" {
		inc.Assignee = who.By
	}
}
