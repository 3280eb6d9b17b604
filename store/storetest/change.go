package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
)

// testChanges is the contract of klaxon.ChangeStore: changes listed by
// integration, in a window of their times, newest first (of the same
// time, the last put first), up to a limit; every field kept, across a
// reopen; each integration's own, even of names that share a prefix.
func testChanges(t *testing.T, open func() klaxon.Store) {
	s := connect(t, open)
	ctx := t.Context()
	b := klaxon.DefaultChangeBounds
	put := func(c klaxon.Change) klaxon.Change {
		t.Helper()
		got, err := s.PutChange(ctx, c, t0, b)
		require.NoError(t, err)
		require.NotEmpty(t, got.ID)
		return got
	}
	deploy := put(klaxon.Change{Integration: "ci", Summary: "deploy checkout-api 2026.03.01-1", Source: "github-actions",
		At: t0.Add(-time.Hour), ReceivedAt: t0.Add(-time.Hour + time.Second),
		Details: map[string]string{"sha": "5f1c9a0", "pipeline": `{"id":42}`},
		Links:   []klaxon.Link{{Href: "https://ci.example.com/runs/42", Text: "run 42"}, {Href: "https://example.com/pr/7"}}})
	flag := put(klaxon.Change{Integration: "ci", Summary: "flag checkout-v2 on", At: t0.Add(-time.Minute), ReceivedAt: t0.Add(-time.Minute)})
	same := put(klaxon.Change{Integration: "ci", Summary: "config push", At: t0.Add(-time.Minute), ReceivedAt: t0})
	other := put(klaxon.Change{Integration: "cix", Summary: "another integration", At: t0.Add(-time.Minute), ReceivedAt: t0})
	sub := put(klaxon.Change{Integration: "c", Summary: "a name that prefixes another", At: t0.Add(-time.Minute), ReceivedAt: t0})
	nanos := put(klaxon.Change{Integration: "ci", Summary: "to the nanosecond", At: t0.Add(-30*time.Minute + 1), ReceivedAt: t0})
	require.NotEqual(t, flag.ID, same.ID)

	list := func(integration string, from, to time.Time, limit int) []klaxon.Change {
		t.Helper()
		got, err := s.Changes(ctx, integration, from, to, limit)
		require.NoError(t, err)
		return utcChanges(got)
	}
	day := t0.Add(-24 * time.Hour)
	require.Equal(t, []klaxon.Change{same, flag, nanos, deploy}, list("ci", day, t0, 10), "newest first; of one time, the last put first")
	require.Equal(t, []klaxon.Change{other}, list("cix", day, t0, 10))
	require.Equal(t, []klaxon.Change{sub}, list("c", day, t0, 10))
	require.Empty(t, list("nobody", day, t0, 10))
	require.Equal(t, []klaxon.Change{same, flag}, list("ci", day, t0, 2), "the newest limit")
	require.Empty(t, list("ci", day, t0, 0))
	require.Equal(t, []klaxon.Change{same, flag}, list("ci", t0.Add(-time.Minute), t0.Add(-time.Minute), 10), "from and to are in the window")
	require.Equal(t, []klaxon.Change{nanos}, list("ci", nanos.At, nanos.At, 10), "to the nanosecond")
	require.Empty(t, list("ci", nanos.At.Add(1), t0.Add(-time.Minute-1), 10), "to the nanosecond")
	require.Equal(t, []klaxon.Change{deploy}, list("ci", day, t0.Add(-time.Hour), 10))
	require.Empty(t, list("ci", t0, day, 10), "a window that ends before it starts")

	require.NoError(t, s.Close())
	s = connect(t, open)
	require.Equal(t, []klaxon.Change{same, flag, nanos, deploy}, list("ci", day, t0, 10), "kept across a reopen")
	again, err := s.PutChange(ctx, klaxon.Change{Integration: "ci", Summary: "after the reopen", At: t0, ReceivedAt: t0}, t0, b)
	require.NoError(t, err)
	for _, c := range []klaxon.Change{deploy, flag, same, nanos} {
		require.NotEqual(t, c.ID, again.ID, "IDs are not given twice")
	}

	_, err = s.PutChange(ctx, klaxon.Change{Summary: "no integration", At: t0}, t0, b)
	require.ErrorIs(t, err, klaxon.ErrInvalid)

	canceled, cancel := context.WithCancel(ctx)
	cancel()
	_, err = s.PutChange(canceled, klaxon.Change{Integration: "late", Summary: "canceled", At: t0, ReceivedAt: t0}, t0, b)
	require.ErrorIs(t, err, context.Canceled)
	_, err = s.Changes(canceled, "ci", day, t0, 10)
	require.ErrorIs(t, err, context.Canceled)
	require.Empty(t, list("late", day, t0, 10), "a canceled put stores nothing")
}

// testChangeBounds: a put drops its integration's changes older than the
// bound of age, itself too if it is, and its oldest past the bound of
// count; another integration's stay.
func testChangeBounds(t *testing.T, open func() klaxon.Store) {
	s := connect(t, open)
	ctx := t.Context()
	b := klaxon.ChangeBounds{Age: 24 * time.Hour, Count: 3}
	put := func(integration string, at, now time.Time) klaxon.Change {
		t.Helper()
		c, err := s.PutChange(ctx, klaxon.Change{Integration: integration, Summary: at.Format(time.RFC3339), At: at, ReceivedAt: now}, now, b)
		require.NoError(t, err)
		return c
	}
	list := func(integration string) []klaxon.Change {
		t.Helper()
		got, err := s.Changes(ctx, integration, t0.Add(-365*24*time.Hour), t0.Add(365*24*time.Hour), 100)
		require.NoError(t, err)
		return utcChanges(got)
	}
	other := put("other", t0.Add(-20*time.Hour), t0)
	c1 := put("ci", t0.Add(-20*time.Hour), t0)
	c2 := put("ci", t0.Add(-10*time.Hour), t0)
	c3 := put("ci", t0.Add(-5*time.Hour), t0)
	require.Equal(t, []klaxon.Change{c3, c2, c1}, list("ci"))

	// Out of order: the oldest is dropped, whichever came last.
	c0 := put("ci", t0.Add(-23*time.Hour), t0)
	require.Equal(t, []klaxon.Change{c3, c2, c1}, list("ci"), "past the count, the oldest goes: the one just put")
	require.NotEmpty(t, c0.ID)
	c4 := put("ci", t0.Add(-time.Hour), t0)
	require.Equal(t, []klaxon.Change{c4, c3, c2}, list("ci"), "past the count, the oldest goes")

	// Twenty hours on, the two older than a day go.
	later := t0.Add(20 * time.Hour)
	c5 := put("ci", later, later)
	require.Equal(t, []klaxon.Change{c5, c4}, list("ci"), "older than the bound of age")
	put("ci", later.Add(-25*time.Hour), later)
	require.Equal(t, []klaxon.Change{c5, c4}, list("ci"), "a change older than the bound is not kept")
	require.Equal(t, []klaxon.Change{other}, list("other"), "another integration's stay")

	// The count holds across a reopen: three more put, three kept.
	require.NoError(t, s.Close())
	s = connect(t, open)
	c6 := put("ci", later.Add(time.Minute), later)
	c7 := put("ci", later.Add(2*time.Minute), later)
	require.Equal(t, []klaxon.Change{c7, c6, c5}, list("ci"))
}

// utcChanges puts the times of cs in UTC, as they were stored.
func utcChanges(cs []klaxon.Change) []klaxon.Change {
	for i := range cs {
		cs[i].At, cs[i].ReceivedAt = cs[i].At.UTC(), cs[i].ReceivedAt.UTC()
	}
	return cs
}
