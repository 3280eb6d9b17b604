package route

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestUnreachableAgainstItsParent: a child route takes only alerts its
// parent took, so one that asks a label for a value its parent's
// matchers refuse never matches, and its alerts stay on the parent's
// policy; as does one whose own matchers refuse the value one of them
// asks for.
func TestUnreachableAgainstItsParent(t *testing.T) {
	root, err := New(Spec{Policy: "default", Routes: []Spec{
		{Matchers: []string{`service="db"`}, Policy: "db", Routes: []Spec{
			{Matchers: []string{`service="web"`}, Policy: "web"},
			{Matchers: []string{`severity="critical"`}, Policy: "db-critical"},
		}},
		{Matchers: []string{`env!="prod"`}, Routes: []Spec{
			{Matchers: []string{`env="prod"`, `team="a"`}},
		}},
		{Matchers: []string{`team="b"`, `team=~"c|d"`}},
	}})
	require.NoError(t, err)
	var got []string
	for _, u := range root.Unreachable([]string{"prom"}) {
		got = append(got, u.Path+": "+u.Why)
	}
	require.Equal(t, []string{
		`route.routes[0].routes[0]: never matches: it asks service to be both "db" and "web"`,
		`route.routes[1].routes[0]: never matches: it asks env to be "prod", which env!="prod" refuses`,
		`route.routes[2]: never matches: it asks team to be "b", which team=~"c|d" refuses`,
	}, got)
}
