package redis

import (
	"fmt"
	"sync"
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

// TestReplicatedResolvedIncidentIDMapWaitedUnderEngine is
// TestReplicatedResolvedIncidentIDMapWaited while the escalation
// engine records pages on closed incidents of many other groups (their
// resolve notifications): commits that never wait, each of which writes
// its incident's ID map again. They must not make the store forget the
// map the delivery's own commit wrote before its wait.
func TestReplicatedResolvedIncidentIDMapWaitedUnderEngine(t *testing.T) {
	t.Parallel()
	masters, replicas := redistest.StartClusterWithReplicas(t)
	s, idAddr, group := idMapRig(t, masters, "idu")
	ctx := t.Context()
	for i, m := range masters {
		if m.Addr() == idAddr {
			replicas[i].Pause(t) // no replica acknowledges the ID's map
			t.Cleanup(func() { replicas[i].Resume(t) })
		}
	}

	wait := s.Barrier(ctx, []string{group})
	id, err := s.NextIncidentID(ctx)
	require.NoError(t, err)
	inc := &klaxon.Incident{ID: id, Group: group, State: klaxon.StateTriggered, CreatedAt: t0}
	require.NoError(t, s.Commit(ctx, klaxon.Commit{Group: group, Open: id, Incidents: []*klaxon.Incident{inc}}))
	resolved := *inc
	resolved.State = klaxon.StateResolved
	require.NoError(t, s.Commit(ctx, klaxon.Commit{Group: group, Version: 1, Incidents: []*klaxon.Incident{&resolved}}))

	// The engine's commits on closed incidents of other groups, as
	// another replica's deliveries opened them: urgent, never waited.
	engine := s.Urgent()
	const groups = confirmedIDs
	var wg sync.WaitGroup
	errs := make(chan error, groups)
	for w := range 32 {
		wg.Go(func() {
			for i := w; i < groups; i += 32 {
				g := fmt.Sprintf("alertname=Eng%d", i)
				closed := &klaxon.Incident{ID: fmt.Sprintf("e%d", i), Group: g, State: klaxon.StateResolved, CreatedAt: t0}
				if err := engine.Commit(ctx, klaxon.Commit{Group: g, Urgent: true, Incidents: []*klaxon.Incident{closed}}); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	require.NoError(t, <-errs)

	require.ErrorIs(t, wait(ctx), klaxon.ErrUnavailable,
		"the delivery that opened incident %s is answered while its ID's map (on %s) is on no replica", id, idAddr)
}
