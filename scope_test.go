package klaxon_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
)

// TestScopes: admin includes act, act includes read, and no scope, or
// one Klaxon does not know, includes anything.
func TestScopes(t *testing.T) {
	for _, tc := range []struct {
		have, need klaxon.Scope
		ok         bool
	}{
		{klaxon.ScopeRead, klaxon.ScopeRead, true},
		{klaxon.ScopeRead, klaxon.ScopeAct, false},
		{klaxon.ScopeRead, klaxon.ScopeAdmin, false},
		{klaxon.ScopeAct, klaxon.ScopeRead, true},
		{klaxon.ScopeAct, klaxon.ScopeAct, true},
		{klaxon.ScopeAct, klaxon.ScopeAdmin, false},
		{klaxon.ScopeAdmin, klaxon.ScopeRead, true},
		{klaxon.ScopeAdmin, klaxon.ScopeAct, true},
		{klaxon.ScopeAdmin, klaxon.ScopeAdmin, true},
		{"", klaxon.ScopeRead, false},
		{"write", klaxon.ScopeRead, false},
	} {
		t.Run(string(tc.have)+" for "+string(tc.need), func(t *testing.T) {
			require.Equal(t, tc.ok, tc.have.Includes(tc.need))
		})
	}
	require.Equal(t, klaxon.ScopeAct, klaxon.Widest([]klaxon.Scope{klaxon.ScopeRead, klaxon.ScopeAct}))
	require.Equal(t, klaxon.ScopeAdmin, klaxon.Widest([]klaxon.Scope{klaxon.ScopeAdmin, klaxon.ScopeRead}))
	require.Equal(t, klaxon.Scope(""), klaxon.Widest(nil))
}
