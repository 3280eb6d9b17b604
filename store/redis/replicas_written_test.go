package redis

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/redistest"
)

// TestReplicatedRefusedCommitIDMapNotWaited: a commit that opens
// incident 1 is refused (its group moved on: a conflict, the sender's
// retry then opens it with a commit that lands, or none). The incident
// never was: nothing of it is for a wait to vouch for. The ID's map is
// on a master whose replica acknowledges nothing; the group's shard is
// on another, whose replica does. A delivery to the group that wrote
// nothing on the map's master must be answered: the refused commit
// must not tie every later wait of the group to that master, for as
// long as it cannot be vouched for (for ever, when its slot is not
// served or is left half-migrated).
func TestReplicatedRefusedCommitIDMapNotWaited(t *testing.T) {
	t.Parallel()
	masters, replicas := redistest.StartClusterWithReplicas(t)
	s, idAddr, group := idMapRig(t, masters, "idq")
	ctx := t.Context()

	id, err := s.NextIncidentID(ctx)
	require.NoError(t, err)
	inc := &klaxon.Incident{ID: id, Group: group, State: klaxon.StateTriggered, CreatedAt: t0}
	err = s.Commit(ctx, klaxon.Commit{Group: group, Version: 7, Open: id, Incidents: []*klaxon.Incident{inc}})
	require.ErrorIs(t, err, klaxon.ErrConflict)

	for i, m := range masters {
		if m.Addr() == idAddr {
			replicas[i].Pause(t) // no replica acknowledges on the map's master
			t.Cleanup(func() { replicas[i].Resume(t) })
		}
	}
	// A delivery to the group: its retry found its writes made.
	require.NoError(t, s.Barrier(ctx, []string{group})(ctx),
		"a delivery to %s waits for the map of incident %s, which was never committed, on %s", group, id, idAddr)
}
