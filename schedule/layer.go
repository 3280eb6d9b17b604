package schedule

import (
	"fmt"
	"time"

	"github.com/klaxonhq/klaxon"
)

// LayerSpec is one layer of a schedule: a rotation of members, on call
// inside its restrictions (always, when it has none).
type LayerSpec struct {
	Name     string         `koanf:"name"`
	Rotation RotationSpec   `koanf:"rotation"`
	Members  []string       `koanf:"members"`
	Restrict []RestrictSpec `koanf:"restrict"`
}

type layer struct {
	name     string
	rotation rotation
	members  []string
	restrict []restriction
}

// newLayer validates spec; path is its key path ("layers[0]").
func newLayer(spec LayerSpec, loc *time.Location, path string) (layer, []error) {
	l := layer{name: spec.Name}
	var errs []error
	var rerrs []error
	l.rotation, rerrs = newRotation(spec.Rotation, loc, path+".rotation")
	errs = append(errs, rerrs...)
	if len(spec.Members) == 0 {
		errs = append(errs, klaxon.Invalid(path+".members", "empty rotation"))
	}
	for i, m := range spec.Members {
		if m == "" {
			errs = append(errs, klaxon.Invalid(fmt.Sprintf("%s.members[%d]", path, i), "empty user"))
		}
	}
	l.members = append([]string(nil), spec.Members...)
	for i, rs := range spec.Restrict {
		r, rerrs := newRestriction(rs, fmt.Sprintf("%s.restrict[%d]", path, i))
		errs = append(errs, rerrs...)
		l.restrict = append(l.restrict, r)
	}
	return l, errs
}

// at returns who the layer has on call at t, whose reached reading is now;
// ok is false outside its restrictions.
func (l *layer) at(t time.Time, now local) (user string, ok bool) {
	if !l.open(now) {
		return "", false
	}
	return l.members[floorMod(l.rotation.turn(t, now), int64(len(l.members)))], true
}

// open reports whether one of the layer's windows is open at now.
func (l *layer) open(now local) bool {
	if len(l.restrict) == 0 {
		return true
	}
	for i := range l.restrict {
		if l.restrict[i].covers(now) {
			return true
		}
	}
	return false
}

// next returns the first instant after t at which the layer may change:
// a handoff, or a window opening or closing.
func (l *layer) next(t time.Time, now local, loc *time.Location) time.Time {
	next := l.rotation.handoff(l.rotation.turn(t, now)+1, loc)
	if len(l.restrict) == 0 {
		return next
	}
	edge := l.restrict[0].nextEdge(now)
	for i := 1; i < len(l.restrict); i++ {
		edge = min(edge, l.restrict[i].nextEdge(now))
	}
	if e := instantOf(edge, loc); e.Before(next) {
		return e
	}
	return next
}
