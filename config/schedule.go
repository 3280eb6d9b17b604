package config

import (
	"errors"
	"fmt"
	"path/filepath"
	"reflect"

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
	schedules := map[string]*schedule.Schedule{}
	defined := map[string]string{}
	files, ok := l.folder("schedules", name)
	if !ok {
		return schedules, defined, false
	}
	complete := true
	for _, f := range files {
		shown := filepath.Join(l.shown(name), f)
		raw, err := readYAML(filepath.Join(l.abs(name), f), shown)
		if err != nil {
			// The file may define a schedule a policy names: do not
			// blame the policy for it.
			l.probs.list = append(l.probs.list, err)
			complete = false
			continue
		}
		var s schedule.Spec
		before := l.probs.count()
		d := decoder{file: shown, lookup: l.lookup, probs: l.probs}
		d.decode("", raw, reflect.ValueOf(&s).Elem())
		sch, err := schedule.New(s)
		l.addFileFieldErrors(shown, err)
		if other, dup := defined[s.Name]; dup && s.Name != "" {
			l.probs.add(shown, "name", "schedule %q is also defined in %s", s.Name, other)
		} else if s.Name != "" {
			defined[s.Name] = shown
		}
		if usersOK {
			l.checkScheduleUsers(shown, s, users)
		}
		if l.probs.count() == before {
			schedules[s.Name] = sch
		}
	}
	return schedules, defined, complete
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
	for _, e := range flatten(err) {
		var fe *klaxon.FieldError
		if errors.As(e, &fe) {
			l.probs.add(file, fe.Field, "%s", fe.Msg)
		} else {
			l.probs.add(file, "", "%v", e)
		}
	}
}

// flatten lists the errors joined in err; none for nil.
func flatten(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, flatten(e)...)
		}
		return out
	}
	return []error{err}
}
