package schedule

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/klaxonhq/klaxon"
)

// Overrides reads the overrides set at runtime (by the API or the
// console), which the store keeps: a klaxon.OverrideStore.
type Overrides interface {
	Overrides(ctx context.Context, schedule string, now time.Time) ([]klaxon.Override, error)
}

// Book answers who is on call: the schedules of one config, with the
// overrides set at runtime on top of those the files hold. The engine,
// the API and `klaxon route test` ask it alike.
type Book struct {
	schedules map[string]*Schedule
	overrides Overrides
	known     func(user string) bool
}

// NewBook returns the book of schedules, by name, and of the runtime
// overrides that overrides reads; nil reads none. It keeps the map.
func NewBook(schedules map[string]*Schedule, overrides Overrides) *Book {
	return &Book{schedules: schedules, overrides: overrides}
}

// KnownUsers makes the book ignore each runtime override of a user that
// known does not know, and returns it. The API checks an override's user
// when it is set, but the user may leave users.yaml later, while the
// override is kept in the store: counting it would put on call someone
// nobody can page, in place of everyone else, for as long as it lasts.
// Without known, every override counts. Timeline still lists such an
// override among the runtime ones, so that it can be seen and deleted.
func (b *Book) KnownUsers(known func(user string) bool) *Book {
	b.known = known
	return b
}

// Schedule returns the schedule called name.
func (b *Book) Schedule(name string) (*Schedule, bool) {
	s, ok := b.schedules[name]
	return s, ok
}

// Names lists the schedules, sorted.
func (b *Book) Names() []string { return slices.Sorted(maps.Keys(b.schedules)) }

// OnCall returns the IDs of the users on call in schedule name at t,
// runtime overrides included; an error matching klaxon.ErrNotFound when
// there is no such schedule.
func (b *Book) OnCall(ctx context.Context, name string, t time.Time) ([]string, error) {
	s, stored, err := b.lookup(ctx, name, t)
	if err != nil {
		return nil, err
	}
	return s.OnCall(t, b.runtimeOverrides(stored)...), nil
}

// Shifts returns the on-call shifts of schedule name in [from, to),
// runtime overrides included.
func (b *Book) Shifts(ctx context.Context, name string, from, to time.Time) ([]Shift, error) {
	s, stored, err := b.lookup(ctx, name, from)
	if err != nil {
		return nil, err
	}
	return s.Shifts(from, to, b.runtimeOverrides(stored)...), nil
}

// lookup returns a schedule and its runtime overrides not ended at t, as
// the store keeps them.
func (b *Book) lookup(ctx context.Context, name string, t time.Time) (*Schedule, []klaxon.Override, error) {
	s, ok := b.schedules[name]
	if !ok {
		return nil, nil, fmt.Errorf("schedule %s: %w", name, klaxon.ErrNotFound)
	}
	if b.overrides == nil {
		return s, nil, nil
	}
	stored, err := b.overrides.Overrides(ctx, name, t)
	if err != nil {
		return nil, nil, fmt.Errorf("schedule %s: %w", name, err)
	}
	return s, stored, nil
}

// runtimeOverrides returns the overrides the store keeps as the ones
// OnCall and Shifts take, leaving out those of users the book does not
// know.
func (b *Book) runtimeOverrides(stored []klaxon.Override) []Override {
	extra := make([]Override, 0, len(stored))
	for _, o := range stored {
		if b.known == nil || b.known(o.User) {
			extra = append(extra, Override{User: o.User, From: o.From, To: o.To})
		}
	}
	return extra
}
