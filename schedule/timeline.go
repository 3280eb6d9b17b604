package schedule

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/klaxonhq/klaxon"
)

// LayerShifts are the shifts one layer has on its own: its rotation
// inside its restrictions, before the layers above it and the overrides
// are applied.
type LayerShifts struct {
	// Name is the layer's name, or "layer N" (N counting from 1 in the
	// schedule's order) for a layer that has none.
	Name   string
	Shifts []Shift
}

// Timeline is what the console draws for a window of a schedule: each
// layer on its own, the overrides on top of them, and who is on call in
// the end.
type Timeline struct {
	// Layers are in the schedule's order, lowest priority first.
	Layers []LayerShifts
	// FileOverrides are the overrides the schedule's file holds that
	// intersect the window, as Schedule.FileOverrides returns them.
	FileOverrides []Override
	// Runtime are the runtime overrides that intersect the window, not
	// clipped, ordered by From then User, with times in the schedule's
	// location; also those of users the book does not know (see
	// Book.KnownUsers), which Final leaves out.
	Runtime []klaxon.Override
	// Final are the on-call shifts after layers and every override, as
	// Book.Shifts returns them.
	Final []Shift
}

// LayerShifts returns, for each layer in the schedule's order (lowest
// priority first), the shifts that layer alone has in [from, to): its
// rotation inside its restrictions, whatever the other layers and the
// overrides say. There is one shift per unbroken stretch of one user,
// clipped to the window, in order; times are in the schedule's location.
// It costs the same whatever the distance from the handoffs.
func (s *Schedule) LayerShifts(from, to time.Time) []LayerShifts {
	out := make([]LayerShifts, len(s.layers))
	for i := range s.layers {
		name := s.layers[i].name
		if name == "" {
			name = fmt.Sprintf("layer %d", i+1)
		}
		out[i] = LayerShifts{Name: name, Shifts: s.layers[i].shifts(from, to, s.loc)}
	}
	return out
}

// shifts returns the layer's own shifts in [from, to), walking from one
// of its change points to the next.
func (l *layer) shifts(from, to time.Time, loc *time.Location) []Shift {
	var shifts []Shift
	from, to = from.In(loc), to.In(loc)
	for t := from; t.Before(to); {
		now := reached(t, loc)
		end := l.next(t, now, loc)
		if !end.After(t) { // cannot happen; never loop forever if it does
			end = t.Add(time.Second)
		}
		if end.After(to) {
			end = to
		}
		if u, ok := l.at(t, now); ok {
			if n := len(shifts); n > 0 && shifts[n-1].User == u && shifts[n-1].End.Equal(t) {
				shifts[n-1].End = end // a handoff to the same member, or touching windows
			} else {
				shifts = append(shifts, Shift{User: u, Start: t, End: end})
			}
		}
		t = end
	}
	return shifts
}

// FileOverrides returns the overrides the schedule's file holds that
// intersect [from, to), not clipped to it, ordered by From then User.
func (s *Schedule) FileOverrides(from, to time.Time) []Override {
	var out []Override
	for _, o := range s.overrides {
		if intersects(o.From, o.To, from, to) {
			out = append(out, o)
		}
	}
	slices.SortStableFunc(out, func(a, b Override) int {
		return cmp.Or(a.From.Compare(b.From), cmp.Compare(a.User, b.User))
	})
	return out
}

// Timeline returns what schedule name has in [from, to): each layer on
// its own, the overrides of its file and those set at runtime that
// intersect the window, and the final shifts, runtime overrides included.
// The store is read once. The error matches klaxon.ErrNotFound when there
// is no such schedule.
func (b *Book) Timeline(ctx context.Context, name string, from, to time.Time) (Timeline, error) {
	s, stored, err := b.lookup(ctx, name, from)
	if err != nil {
		return Timeline{}, err
	}
	var runtime []klaxon.Override
	for _, o := range stored {
		if intersects(o.From, o.To, from, to) {
			o.From, o.To = o.From.In(s.loc), o.To.In(s.loc)
			runtime = append(runtime, o)
		}
	}
	slices.SortStableFunc(runtime, func(a, b klaxon.Override) int {
		return cmp.Or(a.From.Compare(b.From), cmp.Compare(a.User, b.User))
	})
	return Timeline{
		Layers:        s.LayerShifts(from, to),
		FileOverrides: s.FileOverrides(from, to),
		Runtime:       runtime,
		Final:         s.Shifts(from, to, b.runtimeOverrides(stored)...),
	}, nil
}

// intersects reports whether [start, end) and [from, to) share an instant.
// An empty or inverted interval shares none.
func intersects(start, end, from, to time.Time) bool {
	return start.Before(end) && start.Before(to) && from.Before(end)
}
