package config

import (
	"errors"
	"fmt"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/schedule"
)

// loadSchedules loads every *.yaml and *.yml file of the folder name
// (`schedules:` in klaxon.yaml), one schedule per file, skipping hidden
// files and subfolders. It returns the valid schedules, the file of every
// schedule name a file defines, valid or not, and whether that list is
// complete: false when the folder or one of its files cannot be read.
// users are the known users; usersOK is false when the users file could
// not be read, and then members are not checked.
func (l *loader) loadSchedules(name string, users map[string]klaxon.User, usersOK bool) (map[string]*schedule.Schedule, map[string]string, bool) {
	return loadFolder(l, "schedule", "schedules", name, func(shown string, s schedule.Spec) (string, *schedule.Schedule) {
		sch, err := schedule.New(s)
		l.addFileFieldErrors(shown, err)
		if usersOK {
			l.checkScheduleUsers(shown, s, users)
		}
		return s.Name, sch
	})
}

// checkScheduleUsers records every member and override user of the
// schedule s, from file, that is not a known user.
func (l *loader) checkScheduleUsers(file string, s schedule.Spec, users map[string]klaxon.User) {
	for i, ls := range s.Layers {
		for j, m := range ls.Members {
			if m != "" && !hasUser(users, m) {
				l.probs.add(file, fmt.Sprintf("layers[%d].members[%d]", i, j), "unknown user %q: %s", m, l.noUser())
			}
		}
	}
	for i, o := range s.Overrides {
		if o.User != "" && !hasUser(users, o.User) {
			l.probs.add(file, fmt.Sprintf("overrides[%d].user", i), "unknown user %q: %s", o.User, l.noUser())
		}
	}
}

// noSchedule says why a schedule is unknown.
func (l *loader) noSchedule() string {
	if l.schedules == "" {
		return "the config sets no schedules folder"
	}
	return "no file in " + l.shown(l.schedules) + " defines it"
}

// addFileFieldErrors records the *klaxon.FieldErrors in err as problems
// in file.
func (l *loader) addFileFieldErrors(file string, err error) {
	for _, e := range Errors(err) {
		var fe *klaxon.FieldError
		if errors.As(e, &fe) {
			l.probs.add(file, fe.Field, "%s", fe.Msg)
		} else {
			l.probs.add(file, "", "%v", e)
		}
	}
}

// Errors lists the problems joined in err, as Load returns them; none
// for nil.
func Errors(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, Errors(e)...)
		}
		return out
	}
	return []error{err}
}
