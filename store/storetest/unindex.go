package storetest

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
)

// An Unindexer is a store whose commit that closes an incident of a storm
// may leave the unindexing of its alerts owed: Unindex finishes it.
type Unindexer interface {
	klaxon.Store
	Unindex(ctx context.Context) error
}

// UnindexOwed checks that the unindexing a close left owed is kept
// until Unindex makes it, and that Unindex takes out of the index only
// what the closed incident still held: an alert that fired again in the
// group's next incident, or moved to another group, since, stays. close
// commits c, the close of an incident of 2,500 alerts, so that its
// unindexing is left owed, as a process stopped just after would, and
// returns the store to go on with (s, or s opened again).
func UnindexOwed(t *testing.T, s Unindexer, close func(c klaxon.Commit) Unindexer) {
	ctx := t.Context()
	big := &klaxon.Incident{ID: "5", Group: "g3", Summary: "storm", State: klaxon.StateTriggered, CreatedAt: t0}
	keys := make([]string, 2_500)
	for i := range keys {
		keys[i] = fmt.Sprintf("big/%d", i)
		big.Changed = append(big.Changed, alertRecord(keys[i], 1))
	}
	big.AlertCount, big.FiringCount = len(keys), len(keys)
	require.NoError(t, s.Commit(ctx, klaxon.Commit{Group: "g3", Version: 0, Open: "5", Incidents: []*klaxon.Incident{big}, Index: keys}))
	big = header(big)
	big.State = klaxon.StateResolved
	s = close(klaxon.Commit{Group: "g3", Version: 1, Incidents: []*klaxon.Incident{big}})

	groups, err := s.AlertGroups(ctx, keys)
	require.NoError(t, err)
	require.Len(t, groups, len(keys), "owed: still indexed")

	// Since: one fires again in the group's next incident, one moves.
	next := &klaxon.Incident{ID: "6", Group: "g3", Summary: "storm", State: klaxon.StateTriggered, CreatedAt: t0,
		Changed: []klaxon.AlertState{alertRecord("big/7", 2)}, AlertCount: 1, FiringCount: 1}
	require.NoError(t, s.Commit(ctx, klaxon.Commit{Group: "g3", Version: 2, Open: "6", Incidents: []*klaxon.Incident{next}, Index: []string{"big/7"}}))
	require.NoError(t, s.Commit(ctx, klaxon.Commit{Group: "g2", Version: 0, Index: []string{"big/1999"}}))

	require.NoError(t, s.Unindex(ctx))
	groups, err = s.AlertGroups(ctx, keys)
	require.NoError(t, err)
	require.Equal(t, map[string]string{"big/7": "g3", "big/1999": "g2"}, groups)
	require.NoError(t, s.Unindex(ctx), "nothing left owed")
}
