package app

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
)

// paths is a store with a path for the engine (Urgent), which records
// which path each read went through.
type paths struct {
	klaxon.Store // nil: only Incident is read
	path         string
	reads        *[]string
}

func (p paths) Incident(_ context.Context, id string) (*klaxon.Incident, error) {
	*p.reads = append(*p.reads, p.path)
	return &klaxon.Incident{ID: id, State: klaxon.StateTriggered, Pending: []klaxon.Notification{{ID: 1}}}, nil
}

func (p paths) Urgent() klaxon.Store { return paths{path: "urgent", reads: p.reads} }

// TestDMWantedReadsUrgent: whether a Slack DM page holding a time is
// still wanted is read through the store's path for the engine, as a
// page waits on it, not through ingest's, which a storm fills.
func TestDMWantedReadsUrgent(t *testing.T) {
	var reads []string
	wanted := pageWanted(paths{path: "ingest", reads: &reads})
	require.True(t, wanted(t.Context(), klaxon.PageRef{Incident: "1", Notification: 1}))
	require.False(t, wanted(t.Context(), klaxon.PageRef{Incident: "1", Notification: 2}))
	require.Equal(t, []string{"urgent", "urgent"}, reads)
}
