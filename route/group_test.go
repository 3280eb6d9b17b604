package route

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestGroupKey(t *testing.T) {
	root, err := New(designSpec())
	require.NoError(t, err)

	tests := []struct {
		name   string
		labels map[string]string
		key    string
		group  map[string]string
	}{
		{
			name:   "root",
			labels: map[string]string{"alertname": "DiskFull", "service": "db", "instance": "x"},
			key:    `{}:{alertname="DiskFull",service="db"}`,
			group:  map[string]string{"alertname": "DiskFull", "service": "db"},
		},
		{
			name:   "payments",
			labels: map[string]string{"alertname": "HighErrorRate", "service": "payments", "severity": "critical"},
			key:    `{}/{service="payments",severity=~"critical|page"}:{alertname="HighErrorRate",service="payments"}`,
			group:  map[string]string{"alertname": "HighErrorRate", "service": "payments"},
		},
		{
			name:   "missing label is empty",
			labels: map[string]string{"alertname": "DiskFull"},
			key:    `{}:{alertname="DiskFull",service=""}`,
			group:  map[string]string{"alertname": "DiskFull"},
		},
		{
			name:   "empty label is the same as missing",
			labels: map[string]string{"alertname": "DiskFull", "service": ""},
			key:    `{}:{alertname="DiskFull",service=""}`,
			group:  map[string]string{"alertname": "DiskFull"},
		},
		{
			name:   "values are quoted",
			labels: map[string]string{"alertname": "a\",service=\"b", "service": "}\n"},
			key:    `{}:{alertname="a\",service=\"b",service="}\n"}`,
			group:  map[string]string{"alertname": "a\",service=\"b", "service": "}\n"},
		},
		{
			name:   "none of the group_by labels: a group of its own",
			labels: map[string]string{"severity": "critical", "integration": "tools"},
			key:    `{}:"am/1"`,
			group:  map[string]string{},
		},
		{
			name:   "only empty group_by labels: a group of its own",
			labels: map[string]string{"alertname": "", "service": ""},
			key:    `{}:"am/1"`,
			group:  map[string]string{},
		},
		{
			name:   "empty group_by is one group per route",
			labels: map[string]string{"service": "payments", "alertname": "X"},
			key:    `{}/{service="payments"}:{}`,
			group:  map[string]string{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := root.Match(tt.labels)
			require.Equal(t, tt.key, r.GroupKey(tt.labels, "am/1"))
			require.Equal(t, tt.group, r.GroupLabels(tt.labels))
		})
	}
}

// TestGroupKeyBounded: a route that groups by many long labels keys its
// groups by a hash past MaxGroupKey, the same for the same labels and
// apart for others; a key within the bound is spelled out.
func TestGroupKeyBounded(t *testing.T) {
	by := []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"}
	root, err := New(Spec{Policy: "p", GroupBy: by})
	require.NoError(t, err)
	long := func(fill string) map[string]string {
		lbls := map[string]string{}
		for _, name := range by {
			lbls[name] = strings.Repeat(fill, 4096) // the longest value ingest takes
		}
		return lbls
	}
	x := long("x")
	key := root.GroupKey(x, "am/1")
	require.Equal(t, "{}:#"+strings.Repeat("0", 64), regexp.MustCompile(`[0-9a-f]{64}$`).ReplaceAllString(key, strings.Repeat("0", 64)))
	require.Equal(t, key, root.GroupKey(long("x"), "am/2"), "the same labels, the same group")
	y := long("x")
	y["j"] = strings.Repeat("x", 4095) + "y"
	require.NotEqual(t, key, root.GroupKey(y, "am/1"))

	short := map[string]string{"a": strings.Repeat("x", 100)}
	require.Equal(t, `{}:{a="`+strings.Repeat("x", 100)+`",b="",c="",d="",e="",f="",g="",h="",i="",j=""}`, root.GroupKey(short, "am/1"))
	alone := root.GroupKey(map[string]string{}, strings.Repeat("\x00", 1000))
	require.LessOrEqual(t, len(alone), MaxGroupKey)
}

func TestGroupKeyUnambiguous(t *testing.T) {
	root, err := New(Spec{Policy: "p", GroupBy: []string{"a", "b", "odd name"}})
	require.NoError(t, err)

	sets := []map[string]string{
		{"a": "x", "b": "y"},
		{"a": `x",b="y`},
		{"a": `x","b":"y`},
		{"a": "x,b=y"},
		{"a": "", "b": "x"},
		{"a": "y"},
		{"a": "x"},
		{"odd name": "x"},
		{"a": `"`, "b": `\`},
		{"a": `\"`},
	}
	seen := map[string]int{}
	for i, s := range sets {
		k := root.GroupKey(s, "am/1")
		j, dup := seen[k]
		require.False(t, dup, "sets %d and %d share key %s", i, j, k)
		seen[k] = i
		require.Equal(t, k, root.GroupKey(s, "am/1"), "not deterministic")
	}
	// Alerts alone: one group each, none another's.
	for i, key := range []string{"am/1", "am/2", `am/1"`, `{a="x",b="y"}`} {
		k := root.GroupKey(map[string]string{"c": "x"}, key)
		j, dup := seen[k]
		require.False(t, dup, "alert %d and set %d share key %s", i, j, k)
		seen[k] = 100 + i
	}
	// A missing label and an empty one are the same to a group key.
	require.Equal(t, root.GroupKey(map[string]string{"b": "x"}, "am/1"), root.GroupKey(map[string]string{"a": "", "b": "x"}, "am/2"))
	require.Equal(t, `{}:{a="x",b="","odd name"="y"}`,
		root.GroupKey(map[string]string{"a": "x", "odd name": "y"}, "am/1"))
}

// FuzzAppendQuoted: a group key's values are quoted as strconv.Quote
// quotes them, whatever their bytes, so that keys stay what they were.
func FuzzAppendQuoted(f *testing.F) {
	for _, s := range []string{"", "payments", `a"b`, `back\slash`, "tab\there", "\x7f", "\x00", "é", "\xff", "{a=\"b\"}"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		require.Equal(t, strconv.Quote(s), string(appendQuoted(nil, s)))
	})
}

func BenchmarkMatchGroupKey(b *testing.B) {
	spec := Spec{Policy: "default"}
	for i := range 50 {
		spec.Routes = append(spec.Routes, Spec{
			Matchers: []string{fmt.Sprintf(`service="svc-%d"`, i), `severity=~"critical|page"`},
			Policy:   fmt.Sprintf("p%d", i),
		})
	}
	root, err := New(spec)
	require.NoError(b, err)
	lbls := map[string]string{
		"alertname": "HighErrorRate", "service": "svc-42", "severity": "page",
		"instance": "10.0.0.1:9090", "job": "api",
	}
	b.ReportAllocs()
	for b.Loop() {
		r := root.Match(lbls)
		_ = r.GroupKey(lbls, "am/1")
	}
}
