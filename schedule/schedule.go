package schedule

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/klaxonhq/klaxon"
)

// Spec is a schedule as written in schedules/NAME.yaml.
type Spec struct {
	Name string `koanf:"name"`
	// TimeZone is the IANA zone of every wall-clock time in the spec.
	TimeZone string `koanf:"time_zone"`
	// Layers are in increasing priority: where a later layer has someone
	// on call, it wins.
	Layers    []LayerSpec    `koanf:"layers"`
	Overrides []OverrideSpec `koanf:"overrides"`
}

// Schedule is a validated schedule. It is immutable and safe for
// concurrent use.
type Schedule struct {
	name      string
	loc       *time.Location
	layers    []layer
	overrides []Override
	members   []string
}

// New validates s and builds its Schedule. Every problem is reported, as
// *klaxon.FieldError values naming the key path
// ("layers[1].rotation.every: bad duration \"1x\"") joined with errors.Join;
// they match klaxon.ErrInvalid.
func New(s Spec) (*Schedule, error) {
	var errs []error
	switch s.Name {
	case "":
		errs = append(errs, klaxon.Invalid("name", "missing"))
	case ".", "..":
		// Its pages, /schedules/{name} and /v1/schedules/{name}/oncall,
		// would be cleaned to another path by every HTTP router.
		errs = append(errs, klaxon.Invalid("name", "%q cannot name a schedule: /schedules/%s is not a path of its own once cleaned", s.Name, s.Name))
	}
	loc, err := loadLocation(s.TimeZone)
	if err != nil {
		errs = append(errs, err)
		loc = time.UTC // go on, to report the other problems too
	}
	sch := &Schedule{name: s.Name, loc: loc}
	if len(s.Layers) == 0 {
		errs = append(errs, klaxon.Invalid("layers", "no layers"))
	}
	names := make(map[string]int)
	for i, ls := range s.Layers {
		path := fmt.Sprintf("layers[%d]", i)
		if j, dup := names[ls.Name]; dup && ls.Name != "" {
			errs = append(errs, klaxon.Invalid(path+".name", "%q already names layers[%d]", ls.Name, j))
		}
		names[ls.Name] = i
		l, lerrs := newLayer(ls, loc, path)
		errs = append(errs, lerrs...)
		sch.layers = append(sch.layers, l)
		sch.members = append(sch.members, ls.Members...)
	}
	for i, os := range s.Overrides {
		o, oerrs := newOverride(os, loc, fmt.Sprintf("overrides[%d]", i))
		errs = append(errs, oerrs...)
		sch.overrides = append(sch.overrides, o)
		sch.members = append(sch.members, os.User)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	slices.Sort(sch.members)
	sch.members = slices.Compact(sch.members)
	return sch, nil
}

func loadLocation(name string) (*time.Location, error) {
	switch name {
	case "":
		return nil, klaxon.Invalid("time_zone", "missing")
	case "Local": // the host's zone, not a name the schedule can rely on
		return nil, klaxon.Invalid("time_zone", "unknown time zone %q", name)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, klaxon.Invalid("time_zone", "unknown time zone %q", name)
	}
	return loc, nil
}

// Name is the schedule's name, as escalation targets (schedule:NAME) use it.
func (s *Schedule) Name() string { return s.name }

// Location is the schedule's time zone.
func (s *Schedule) Location() *time.Location { return s.loc }

// Members returns every user the schedule names, in its layers and its
// overrides, sorted and de-duplicated. Config validation checks them
// against users.yaml.
func (s *Schedule) Members() []string { return slices.Clone(s.members) }

// OnCall returns the users on call at t, sorted and de-duplicated, or nil
// when nobody is. While overrides (the schedule's and extra) are active,
// their users alone are on call; otherwise the last layer that has someone
// at t does. It costs the same whatever the distance from the handoffs.
func (s *Schedule) OnCall(t time.Time, extra ...Override) []string {
	var users []string
	for _, list := range [2][]Override{s.overrides, extra} {
		for i := range list {
			if list[i].active(t) {
				users = append(users, list[i].User)
			}
		}
	}
	if len(users) > 0 {
		slices.Sort(users)
		return slices.Compact(users)
	}
	now := reached(t, s.loc)
	for i := len(s.layers) - 1; i >= 0; i-- {
		if u, ok := s.layers[i].at(t, now); ok {
			return []string{u}
		}
	}
	return nil
}

// next returns the first instant after t, up to limit, at which who is on
// call may change. Who is on call is the same from t until then.
func (s *Schedule) next(t, limit time.Time, extra []Override) time.Time {
	limit = overrideEdge(t, limit, s.overrides, extra)
	now := reached(t, s.loc)
	for i := range s.layers {
		if n := s.layers[i].next(t, now, s.loc); n.Before(limit) {
			limit = n
		}
	}
	return limit
}
