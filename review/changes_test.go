package review_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/review"
)

// changeReader holds each integration's changes, newest first, as a
// store lists them, and notes what it was asked.
type changeReader struct {
	changes map[string][]klaxon.Change
	asked   []string
	err     error
}

func (r *changeReader) Changes(_ context.Context, integration string, from, to time.Time, limit int) ([]klaxon.Change, error) {
	r.asked = append(r.asked, integration+" "+from.Format(time.RFC3339)+" "+to.Format(time.RFC3339)+" "+strconv.Itoa(limit))
	if r.err != nil {
		return nil, r.err
	}
	var out []klaxon.Change
	for _, c := range r.changes[integration] {
		if !c.At.Before(from) && !c.At.After(to) && len(out) < limit {
			out = append(out, c)
		}
	}
	return out, nil
}

func TestReadChanges(t *testing.T) {
	t0 := time.Date(2026, 11, 23, 22, 0, 0, 0, time.UTC)
	inc := &klaxon.Incident{ID: "42", CreatedAt: t0}
	change := func(integration string, before time.Duration) klaxon.Change {
		return klaxon.Change{Integration: integration, Summary: integration + " " + before.String(), At: t0.Add(-before)}
	}
	many := make([]klaxon.Change, 25)
	for i := range many {
		many[i] = change("ci", time.Duration(i+1)*time.Minute)
	}
	tests := []struct {
		name         string
		changes      map[string][]klaxon.Change
		integrations []string
		want         review.Changes
		asked        []string
	}{
		{
			name: "the integrations' changes merged, newest first; of one time, by integration",
			changes: map[string][]klaxon.Change{
				"ci":     {change("ci", time.Minute), change("ci", time.Hour)},
				"deploy": {change("deploy", 0), change("deploy", time.Hour), change("deploy", 2*time.Hour)},
				"other":  {change("other", time.Minute)},
			},
			integrations: []string{"ci", "deploy"},
			want: review.Changes{Integrations: []string{"ci", "deploy"}, List: []klaxon.Change{
				change("deploy", 0), change("ci", time.Minute), change("ci", time.Hour), change("deploy", time.Hour), change("deploy", 2*time.Hour),
			}},
			asked: []string{"ci 2026-11-22T22:00:00Z 2026-11-23T22:00:00Z 21", "deploy 2026-11-22T22:00:00Z 2026-11-23T22:00:00Z 21"},
		},
		{
			name:         "the window: the 24 hours before the incident opened, its opening included",
			changes:      map[string][]klaxon.Change{"ci": {change("ci", -time.Second), change("ci", 0), change("ci", 24*time.Hour), change("ci", 24*time.Hour+time.Second)}},
			integrations: []string{"ci"},
			want:         review.Changes{Integrations: []string{"ci"}, List: []klaxon.Change{change("ci", 0), change("ci", 24*time.Hour)}},
			asked:        []string{"ci 2026-11-22T22:00:00Z 2026-11-23T22:00:00Z 21"},
		},
		{
			name:         "past MaxChangeRows, the newest",
			changes:      map[string][]klaxon.Change{"ci": many},
			integrations: []string{"ci"},
			want:         review.Changes{Integrations: []string{"ci"}, List: many[:review.MaxChangeRows], More: true},
			asked:        []string{"ci 2026-11-22T22:00:00Z 2026-11-23T22:00:00Z 21"},
		},
		{
			name:         "exactly MaxChangeRows: no more",
			changes:      map[string][]klaxon.Change{"ci": many[:review.MaxChangeRows]},
			integrations: []string{"ci"},
			want:         review.Changes{Integrations: []string{"ci"}, List: many[:review.MaxChangeRows]},
			asked:        []string{"ci 2026-11-22T22:00:00Z 2026-11-23T22:00:00Z 21"},
		},
		{
			name:         "no integration: nothing read",
			changes:      map[string][]klaxon.Change{"ci": many},
			integrations: nil,
			want:         review.Changes{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cr := &changeReader{changes: tt.changes}
			got, err := review.ReadChanges(context.Background(), cr, inc, tt.integrations)
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
			require.Equal(t, tt.asked, cr.asked)
		})
	}
	t.Run("an error of the store", func(t *testing.T) {
		_, err := review.ReadChanges(context.Background(), &changeReader{err: klaxon.ErrUnavailable}, inc, []string{"ci"})
		require.ErrorIs(t, err, klaxon.ErrUnavailable)
		require.ErrorContains(t, err, "changes of ci before incident 42")
	})
}

// changeStore is a timelineStore that reads change events too.
type changeStore struct {
	*timelineStore
	*changeReader
}

// TestExportChanges: Export lists the changes of the integrations of
// every alert on the timeline, those past the alerts' events it lists
// too, when its store reads changes; a store that does not writes no
// section of them.
func TestExportChanges(t *testing.T) {
	t0 := time.Date(2026, 11, 23, 22, 0, 0, 0, time.UTC)
	inc := &klaxon.Incident{ID: "42", Summary: "storm", State: klaxon.StateTriggered, CreatedAt: t0}
	events := []klaxon.Event{{At: t0, Kind: klaxon.EventTriggered, Alert: "am/0"}}
	for i := 1; i < 200; i++ {
		events = append(events, klaxon.Event{At: t0.Add(time.Second), Kind: klaxon.EventAlertJoined, Alert: "am/" + strconv.Itoa(i)})
	}
	events = append(events, klaxon.Event{At: t0.Add(time.Minute), Kind: klaxon.EventAlertJoined, Alert: "deploys/rollout"})
	deploy := klaxon.Change{Integration: "deploys", Summary: "deploy checkout-api", Source: "ci", At: t0.Add(-8 * time.Minute)}
	cr := &changeReader{changes: map[string][]klaxon.Change{
		"deploys": {deploy, {Integration: "deploys", Summary: "a day and more before", At: t0.Add(-25 * time.Hour)}},
		"other":   {{Integration: "other", Summary: "of an integration the incident has no alert of", At: t0.Add(-time.Minute)}},
	}}

	md, err := review.Export(context.Background(), changeStore{&timelineStore{inc: inc, events: events}, cr}, nil, "42", time.UTC)
	require.NoError(t, err)
	require.Equal(t, review.MarkdownChanges(inc, events, review.Changes{Integrations: []string{"am", "deploys"}, List: []klaxon.Change{deploy}}, nil, time.UTC), md)
	require.Contains(t, md, "## Changes before\n\nChange events received on am, deploys in the 24 hours before the incident opened, newest first.\n\n"+
		"| When | Before opening | Integration | Change | Source | Links |\n|---|---|---|---|---|---|\n"+
		"| 2026-11-23 21:52:00 UTC | 8m | deploys | deploy checkout-api | ci | — |\n\n## Who was paged")
	require.NotContains(t, md, "a day and more before")
	require.NotContains(t, md, "of an integration the incident has no alert of")
	tablesHold(t, md)

	cr.err = errors.New("redis down")
	_, err = review.Export(context.Background(), changeStore{&timelineStore{inc: inc, events: events}, cr}, nil, "42", time.UTC)
	require.ErrorContains(t, err, "redis down")

	md, err = review.Export(context.Background(), &timelineStore{inc: inc, events: events}, nil, "42", time.UTC)
	require.NoError(t, err)
	require.NotContains(t, md, "Changes before", "a store that keeps no changes")
}

// TestMarkdownNoChanges: the section says why it lists nothing.
func TestMarkdownNoChanges(t *testing.T) {
	t0 := time.Date(2026, 11, 23, 22, 0, 0, 0, time.UTC)
	inc := &klaxon.Incident{ID: "42", Summary: "down", State: klaxon.StateTriggered, CreatedAt: t0}
	events := []klaxon.Event{{At: t0, Kind: klaxon.EventTriggered, Alert: "am/0"}}
	section := func(md string) string {
		_, after, ok := strings.Cut(md, "## Changes before\n\n")
		require.True(t, ok, md)
		before, _, _ := strings.Cut(after, "## ")
		return before
	}
	require.Equal(t, "No change events were received on am, tools\\*ci in the 24 hours before the incident opened.\n\n",
		section(review.MarkdownChanges(inc, events, review.Changes{Integrations: []string{"am", "tools*ci"}}, nil, time.UTC)))
	require.Equal(t, "No alert of the incident names its integration, so no change events are listed.\n\n",
		section(review.MarkdownChanges(inc, nil, review.Changes{}, nil, time.UTC)))
	require.Equal(t, []string{"am", "deploys"}, review.Integrations(append(events,
		klaxon.Event{Kind: klaxon.EventAlertJoined, Alert: "deploys/a/b"}, klaxon.Event{Kind: klaxon.EventAlertJoined, Alert: "am/1"},
		klaxon.Event{Kind: klaxon.EventPageSent, User: "alice"})))
}
