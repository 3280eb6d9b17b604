package schedule

import (
	"time"

	"github.com/klaxonhq/klaxon"
)

// OverrideSpec puts User alone on call from From to To, both
// "YYYY-MM-DDTHH:MM" in the schedule's zone or RFC 3339 with an offset.
type OverrideSpec struct {
	User string `koanf:"user"`
	From string `koanf:"from"`
	To   string `koanf:"to"`
}

// Override puts User on call in place of everyone the layers have, from
// From (inclusive) to To (exclusive). Overrides that overlap are on call
// together. Runtime overrides come from the store as these.
type Override struct {
	User     string
	From, To time.Time
}

// active reports whether o is in force at t. An override with no user or
// an empty interval never is.
func (o *Override) active(t time.Time) bool {
	return o.User != "" && !t.Before(o.From) && t.Before(o.To)
}

// newOverride validates spec; path is its key path ("overrides[0]").
func newOverride(spec OverrideSpec, loc *time.Location, path string) (Override, []error) {
	o := Override{User: spec.User}
	var errs []error
	if spec.User == "" {
		errs = append(errs, klaxon.Invalid(path+".user", "missing"))
	}
	bad := false
	for _, f := range []struct {
		key string
		s   string
		t   *time.Time
	}{{"from", spec.From, &o.From}, {"to", spec.To, &o.To}} {
		if f.s == "" {
			errs = append(errs, klaxon.Invalid(path+"."+f.key, "missing"))
			bad = true
			continue
		}
		t, _, err := parseTime(f.s, loc)
		if err != nil {
			errs = append(errs, klaxon.Invalid(path+"."+f.key, "%v %q (want YYYY-MM-DDTHH:MM or RFC 3339)", err, f.s))
			bad = true
			continue
		}
		*f.t = t
	}
	switch {
	case bad:
	case o.To.Before(o.From):
		errs = append(errs, klaxon.Invalid(path, "to is before from"))
	case o.To.Equal(o.From):
		errs = append(errs, klaxon.Invalid(path, "to equals from"))
	}
	return o, errs
}

// overrideEdge returns the first start or end of an override after t, or
// limit if none comes before it.
func overrideEdge(t, limit time.Time, lists ...[]Override) time.Time {
	for _, list := range lists {
		for i := range list {
			o := &list[i]
			if o.User == "" || !o.From.Before(o.To) {
				continue
			}
			for _, e := range [2]time.Time{o.From, o.To} {
				if e.After(t) && e.Before(limit) {
					limit = e
				}
			}
		}
	}
	return limit
}
