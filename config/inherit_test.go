package config

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// A key whose empty value means "inherit the parent's" is refused when
// written as a ${VAR} that is set but empty: the route would otherwise
// take its parent's policy, silently, where its author named another.
func TestInheritingKeyExpandedEmpty(t *testing.T) {
	setup(t, map[string]string{
		"conf/klaxon.yaml": strings.Replace(baseFiles["conf/klaxon.yaml"], "route:\n  policy: default\n",
			"route:\n  policy: default\n  routes:\n    - {matchers: ['service=\"db\"'], policy: \"${DB_POLICY}\", urgency: \"${DB_URGENCY}\"}\n", 1),
	})
	t.Setenv("DB_POLICY", "")
	t.Setenv("DB_URGENCY", "")
	_, err := Load("conf/klaxon.yaml", nil)
	require.Error(t, err)
	for _, key := range []string{"route.routes[0].policy", "route.routes[0].urgency"} {
		require.Contains(t, err.Error(), "conf/klaxon.yaml: "+key+`: "${DB_`, key)
	}
	require.Contains(t, err.Error(), "expands to nothing, which here means unset")

	// Set, it loads; written with a default, the default stands.
	t.Setenv("DB_POLICY", "default")
	t.Setenv("DB_URGENCY", "high")
	c, err := Load("conf/klaxon.yaml", nil)
	require.NoError(t, err)
	require.Equal(t, "default", c.Route.Routes[0].Policy)
}

// A key whose empty value inherits the parent's, written with an empty
// default (${VAR:-}), asks for the parent's unless the variable names
// another: unset or empty, the route inherits, as it did before set but
// empty ${VAR}s were refused. Only a ${VAR} with no default that reads
// a variable set but empty is refused.
func TestInheritingKeyEmptyDefault(t *testing.T) {
	setup(t, map[string]string{
		"conf/klaxon.yaml": strings.Replace(baseFiles["conf/klaxon.yaml"], "route:\n  policy: default\n",
			"route:\n  policy: default\n  routes:\n    - {matchers: ['service=\"db\"'], policy: \"${DB_POLICY:-}\", urgency: \"${DB_URGENCY:-}\"}\n", 1),
	})
	t.Setenv("DB_URGENCY", "")
	c, err := Load("conf/klaxon.yaml", nil)
	require.NoError(t, err)
	require.Equal(t, "default", c.Route.Routes[0].Policy, "inherits the parent's")
	require.Equal(t, "", c.Route.Routes[0].Urgency, "inherits the parent's: from each alert's severity")
}

// On the root route, which has no parent's to take, the error does not
// say to leave the key out.
func TestInheritingKeyExpandedEmptyAtRoot(t *testing.T) {
	setup(t, map[string]string{
		"conf/klaxon.yaml": strings.Replace(baseFiles["conf/klaxon.yaml"], "route:\n  policy: default\n", "route:\n  policy: \"${ROOT_POLICY}\"\n", 1),
	})
	t.Setenv("ROOT_POLICY", "")
	_, err := Load("conf/klaxon.yaml", nil)
	require.ErrorContains(t, err, `conf/klaxon.yaml: route.policy: "${ROOT_POLICY}" expands to nothing, which here means unset: set the variable`)
	require.NotContains(t, err.Error(), "leave the key out")
}
