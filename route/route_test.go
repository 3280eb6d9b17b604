package route

import (
	"errors"
	"testing"

	"github.com/klaxonhq/klaxon"
	"github.com/stretchr/testify/require"
)

// designSpec is the route of DESIGN.md with a few more children to match.
func designSpec() Spec {
	return Spec{
		Policy:  "default",
		GroupBy: []string{"alertname", "service"},
		Routes: []Spec{
			{
				Matchers: []string{`service="payments"`, `severity=~"critical|page"`},
				Policy:   "payments",
				Routes: []Spec{
					{Matchers: []string{`region="eu"`}, GroupBy: []string{"alertname", "region"}},
				},
			},
			{Matchers: []string{`{team="db",env!="dev"}`}, Policy: "db"},
			{Matchers: []string{`service="payments"`}, GroupBy: []string{}},
		},
	}
}

func TestMatch(t *testing.T) {
	root, err := New(designSpec())
	require.NoError(t, err)

	tests := []struct {
		name    string
		labels  map[string]string
		id      string
		policy  string
		groupBy []string
	}{
		{
			name:    "no labels falls to the root",
			labels:  nil,
			id:      "{}",
			policy:  "default",
			groupBy: []string{"alertname", "service"},
		},
		{
			name:    "payments critical",
			labels:  map[string]string{"service": "payments", "severity": "critical"},
			id:      `{}/{service="payments",severity=~"critical|page"}`,
			policy:  "payments",
			groupBy: []string{"alertname", "service"},
		},
		{
			name:    "regexp is anchored",
			labels:  map[string]string{"service": "payments", "severity": "critical-ish"},
			id:      `{}/{service="payments"}`,
			policy:  "default",
			groupBy: []string{},
		},
		{
			name:    "deepest match wins and inherits the policy",
			labels:  map[string]string{"service": "payments", "severity": "page", "region": "eu"},
			id:      `{}/{service="payments",severity=~"critical|page"}/{region="eu"}`,
			policy:  "payments",
			groupBy: []string{"alertname", "region"},
		},
		{
			name:    "a set of matchers in one string",
			labels:  map[string]string{"team": "db", "env": "prod"},
			id:      `{}/{env!="dev",team="db"}`,
			policy:  "db",
			groupBy: []string{"alertname", "service"},
		},
		{
			name:    "a missing label matches != as empty",
			labels:  map[string]string{"team": "db"},
			id:      `{}/{env!="dev",team="db"}`,
			policy:  "db",
			groupBy: []string{"alertname", "service"},
		},
		{
			name:    "negative matcher excludes",
			labels:  map[string]string{"team": "db", "env": "dev"},
			id:      "{}",
			policy:  "default",
			groupBy: []string{"alertname", "service"},
		},
		{
			name:    "first matching sibling wins",
			labels:  map[string]string{"service": "payments", "severity": "warning"},
			id:      `{}/{service="payments"}`,
			policy:  "default",
			groupBy: []string{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := root.Match(tt.labels)
			require.Equal(t, tt.id, r.ID)
			require.Equal(t, tt.policy, r.Policy)
			require.Equal(t, tt.groupBy, r.GroupBy)
		})
	}
}

func TestInheritance(t *testing.T) {
	tests := []struct {
		name    string
		spec    Spec
		policy  string
		groupBy []string
	}{
		{
			name:    "root defaults group_by",
			spec:    Spec{Policy: "p", Routes: []Spec{{Matchers: []string{`a="1"`}}}},
			policy:  "p",
			groupBy: []string{"alertname", "service"},
		},
		{
			name:    "child inherits both",
			spec:    Spec{Policy: "p", GroupBy: []string{"cluster"}, Routes: []Spec{{Matchers: []string{`a="1"`}}}},
			policy:  "p",
			groupBy: []string{"cluster"},
		},
		{
			name:    "child overrides both",
			spec:    Spec{Policy: "p", Routes: []Spec{{Matchers: []string{`a="1"`}, Policy: "q", GroupBy: []string{"x"}}}},
			policy:  "q",
			groupBy: []string{"x"},
		},
		{
			name:    "empty group_by is kept, not inherited",
			spec:    Spec{Policy: "p", Routes: []Spec{{Matchers: []string{`a="1"`}, GroupBy: []string{}}}},
			policy:  "p",
			groupBy: []string{},
		},
		{
			name: "grandchild inherits from its parent, not the root",
			spec: Spec{Policy: "p", Routes: []Spec{{
				Matchers: []string{`a="1"`}, Policy: "q", GroupBy: []string{"x"},
				Routes: []Spec{{Matchers: []string{`b="2"`}}},
			}}},
			policy:  "q",
			groupBy: []string{"x"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root, err := New(tt.spec)
			require.NoError(t, err)
			r := root.Match(map[string]string{"a": "1", "b": "2"})
			require.NotSame(t, root, r)
			require.Equal(t, tt.policy, r.Policy)
			require.Equal(t, tt.groupBy, r.GroupBy)
		})
	}
}

func TestIDStableWhenReordered(t *testing.T) {
	a := Spec{Matchers: []string{`service="payments"`, `severity=~"critical|page"`}, Policy: "payments"}
	b := Spec{Matchers: []string{`team="db"`}, Policy: "db"}
	// The same route with its matchers written the other way round.
	a2 := Spec{Matchers: []string{`{severity=~"critical|page",service="payments"}`}, Policy: "payments"}

	one, err := New(Spec{Policy: "default", Routes: []Spec{a, b}})
	require.NoError(t, err)
	two, err := New(Spec{Policy: "default", Routes: []Spec{b, a2}})
	require.NoError(t, err)

	lbls := map[string]string{"alertname": "HighErrorRate", "service": "payments", "severity": "page"}
	require.Equal(t, `{}/{service="payments",severity=~"critical|page"}`, one.Match(lbls).ID)
	require.Equal(t, one.Match(lbls).ID, two.Match(lbls).ID)
	require.Equal(t, one.Match(lbls).GroupKey(lbls, "am/1"), two.Match(lbls).GroupKey(lbls, "am/1"))
}

func TestNewErrors(t *testing.T) {
	tests := []struct {
		name string
		spec Spec
		want []string
	}{
		{
			name: "root needs a policy",
			spec: Spec{},
			want: []string{"route.policy: required"},
		},
		{
			name: "root may not have matchers",
			spec: Spec{Policy: "p", Matchers: []string{`a="1"`}},
			want: []string{"route.matchers: not allowed on the root route, which takes every alert"},
		},
		{
			name: "bad matcher names its path",
			spec: Spec{Policy: "p", Routes: []Spec{{Matchers: []string{`a="1"`, `severity=~`}}}},
			want: []string{`route.routes[0].matchers[1]: bad matcher "severity=~": end of input: expected label value`},
		},
		{
			name: "bad regexp",
			spec: Spec{Policy: "p", Routes: []Spec{{Matchers: []string{`a=~"("`}}}},
			want: []string{"route.routes[0].matchers[0]: bad matcher \"a=~\\\"(\\\"\": failed to create matcher: error parsing regexp: missing closing ): `^(?:()$`"},
		},
		{
			name: "empty matcher",
			spec: Spec{Policy: "p", Routes: []Spec{{Matchers: []string{""}}}},
			want: []string{`route.routes[0].matchers[0]: bad matcher "": no matcher`},
		},
		{
			name: "deep path",
			spec: Spec{Policy: "p", Routes: []Spec{
				{Matchers: []string{`a="1"`}},
				{Matchers: []string{`b="1"`}, Routes: []Spec{{Matchers: []string{`{c="1"`}}}},
			}},
			want: []string{`route.routes[1].routes[0].matchers[0]: bad matcher "{c=\"1\"": 0:6: end of input: expected close brace`},
		},
		{
			name: "group_by problems",
			spec: Spec{Policy: "p", GroupBy: []string{"a", "", "a", "..."}},
			want: []string{
				"route.group_by[1]: empty label name",
				`route.group_by[2]: label "a" listed twice`,
				`route.group_by[3]: grouping by all labels ("...") is not supported`,
			},
		},
		{
			name: "siblings with the same matchers",
			spec: Spec{Policy: "p", Routes: []Spec{
				{Matchers: []string{`a="1"`, `b="2"`}},
				{Matchers: []string{`{b="2",a="1"}`}, Policy: "q"},
			}},
			want: []string{"route.routes[1].matchers: same matchers as route.routes[0], so this route never matches"},
		},
		{
			name: "all errors are reported",
			spec: Spec{Matchers: []string{`a="1"`}, Routes: []Spec{{Matchers: []string{`!`}}}},
			want: []string{
				"route.matchers: not allowed on the root route, which takes every alert",
				"route.policy: required",
				`route.routes[0].matchers[0]: bad matcher "!": 0:1: unexpected end of input, expected one of '=~'`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := New(tt.spec)
			require.Error(t, err)
			require.Nil(t, r)
			require.ErrorIs(t, err, klaxon.ErrInvalid)
			var got []string
			for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
				var fe *klaxon.FieldError
				require.True(t, errors.As(e, &fe), "%T is not a *klaxon.FieldError", e)
				got = append(got, fe.Error())
			}
			require.Equal(t, tt.want, got)
		})
	}
}

func TestUrgency(t *testing.T) {
	r, err := New(Spec{Policy: "default", Routes: []Spec{
		{Matchers: []string{`team="db"`}, Urgency: "low", Routes: []Spec{
			{Matchers: []string{`severity="page"`}, Urgency: "high"},
			{Matchers: []string{`env="staging"`}},
		}},
	}})
	require.NoError(t, err)
	for _, c := range []struct {
		name   string
		labels map[string]string
		want   string
	}{
		{"unset: from the alert", map[string]string{"team": "web"}, ""},
		{"set on the route", map[string]string{"team": "db"}, "low"},
		{"a child's own", map[string]string{"team": "db", "severity": "page"}, "high"},
		{"inherited by a child", map[string]string{"team": "db", "env": "staging"}, "low"},
	} {
		t.Run(c.name, func(t *testing.T) { require.Equal(t, c.want, r.Match(c.labels).Urgency) })
	}

	_, err = New(Spec{Policy: "default", Routes: []Spec{{Matchers: []string{`a="b"`}, Urgency: "urgent"}}})
	require.EqualError(t, err, `route.routes[0].urgency: must be high or low, got "urgent"`)
}

func TestAutoResolve(t *testing.T) {
	off, on := false, true
	r, err := New(Spec{Policy: "default", Routes: []Spec{
		{Matchers: []string{`team="db"`}, AutoResolve: &off, Routes: []Spec{
			{Matchers: []string{`severity="info"`}, AutoResolve: &on},
			{Matchers: []string{`env="staging"`}},
		}},
	}})
	require.NoError(t, err)
	for _, c := range []struct {
		name     string
		labels   map[string]string
		keepOpen bool
	}{
		{"unset: incidents resolve by themselves", map[string]string{"team": "web"}, false},
		{"auto_resolve: false", map[string]string{"team": "db"}, true},
		{"a child's own", map[string]string{"team": "db", "severity": "info"}, false},
		{"inherited by a child", map[string]string{"team": "db", "env": "staging"}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			require.Equal(t, c.keepOpen, r.Match(c.labels).KeepOpen)
			tmpl, err := NewTable(r, map[string]klaxon.Policy{"default": {Name: "default"}}, nil).Route(&klaxon.Alert{Key: "k", Labels: c.labels})
			require.NoError(t, err)
			require.Equal(t, c.keepOpen, tmpl.KeepOpen, "the table's template")
		})
	}
}
