package route

import (
	"testing"

	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
)

// TestClassicMatchers: a matcher that only Alertmanager's classic parser
// reads is taken as Alertmanager v0.28 takes it by default, and noted with
// its key path and how to write it for both parsers.
func TestClassicMatchers(t *testing.T) {
	tests := []struct {
		name    string
		matcher string
		matches map[string]string
		refuses map[string]string
		as      string // "" when the UTF-8 parser reads it
	}{
		{
			name:    "an escape the UTF-8 parser refuses",
			matcher: `instance=~"db\d+\.example"`,
			matches: map[string]string{"instance": "db12.example"},
			refuses: map[string]string{"instance": "db12xexample"},
			as:      `instance=~"db\\d+\\.example"`,
		},
		{
			name:    "an unquoted value with a space",
			matcher: `job=node exporter`,
			matches: map[string]string{"job": "node exporter"},
			refuses: map[string]string{"job": "node"},
			as:      `job="node exporter"`,
		},
		{
			name:    "a set of them",
			matcher: `{team="db",instance=~"db\d+"}`,
			matches: map[string]string{"team": "db", "instance": "db1"},
			refuses: map[string]string{"team": "db", "instance": "dbx"},
			as:      `{team="db",instance=~"db\\d+"}`,
		},
		{
			name:    "what both read is the UTF-8 parser's, and not noted",
			matcher: `instance=~"db\\d+"`,
			matches: map[string]string{"instance": "db1"},
			refuses: map[string]string{"instance": "dbx"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root, err := New(Spec{Policy: "default", Routes: []Spec{
				{Matchers: []string{`service="db"`}, Policy: "db", Routes: []Spec{
					{Matchers: []string{`env="prod"`, tt.matcher}, Policy: "child"},
				}},
			}})
			require.NoError(t, err)
			in := func(labels map[string]string) map[string]string {
				out := map[string]string{"service": "db", "env": "prod"}
				for k, v := range labels {
					out[k] = v
				}
				return out
			}
			require.Equal(t, "child", root.Match(in(tt.matches)).Policy)
			require.Equal(t, "db", root.Match(in(tt.refuses)).Policy)

			var want []Classic
			if tt.as != "" {
				want = []Classic{{Path: "route.routes[0].routes[0].matchers[1]", Input: tt.matcher, As: tt.as}}
			}
			require.Equal(t, want, root.ClassicMatchers())

			w, errs := NewWindow(WindowSpec{Name: "w", Matchers: []string{tt.matcher}, Every: "daily",
				From: "02:00", To: "03:00", TimeZone: "UTC"}, "maintenance[0]")
			require.Empty(t, errs)
			for i := range want {
				want[i].Path = "maintenance[0].matchers[0]"
			}
			require.Equal(t, want, w.ClassicMatchers())
		})
	}
}

// TestClassicMatcherAsReadsTheSame: what Classic.As says to write reads,
// in the UTF-8 parser, as the classic parser read the input.
func TestClassicMatcherAsReadsTheSame(t *testing.T) {
	for _, in := range []string{`a=~"x\d\.y"`, `job=node exporter`, `{a="b",c!~"\w+"}`, `a=~"\s+"`} {
		var classic []Classic
		old, errs := parseMatchers([]string{in}, "m", nil, &classic)
		require.Empty(t, errs, in)
		require.Len(t, classic, 1, in)
		again, errs := parseMatchers([]string{classic[0].As}, "m", nil, nil)
		require.Empty(t, errs, classic[0].As)
		require.Equal(t, old.String(), again.String(), in)
	}
}

// TestClassicMatcherCutShortRefused: a matcher that only the classic
// parser reads, and that it reads as something else than written, is
// refused as before, wherever it is cut short or stray: an operator with
// nothing after it before a comma (severity=~, env="prod": the classic
// parser reads severity=~"", alerts without a severity), or a space after
// the closing brace (the classic parser then keeps the brace in the
// value: job="node exporter}").
func TestClassicMatcherCutShortRefused(t *testing.T) {
	for _, in := range []string{
		`severity=~,env=prod`,
		`{severity=~ , env="prod"}`,
		`env=prod, severity=, team=db`,
		`{job=node exporter} `,
		"{job=node exporter}\t",
	} {
		var classic []Classic
		_, errs := parseMatchers([]string{in}, "m", nil, &classic)
		require.NotEmpty(t, errs, "%q", in)
	}
	for _, in := range []string{`job=node exporter`, `{team="db",instance=~"db\d+"}`, `a="b,c=", d=e f`, ` job=node exporter `} {
		var classic []Classic
		_, errs := parseMatchers([]string{in}, "m", nil, &classic)
		require.Empty(t, errs, "%q", in)
	}
}

// TestMatcherReadOtherwise: a matcher that both parsers read, each its
// own way, keeps the UTF-8 reading it always had, and is noted with the
// classic reading, which Alertmanager v0.28 takes, and how to write it
// so that both read it alike.
func TestMatcherReadOtherwise(t *testing.T) {
	var classic []Classic
	ms, errs := parseMatchers([]string{`a="\x41"`, `b="x\\y"`}, "m", nil, &classic)
	require.Empty(t, errs)
	require.True(t, ms.Matches(model.LabelSet{"a": "A", "b": `x\y`}), "the UTF-8 reading: %s", ms)
	require.Equal(t, []Classic{{Path: "m[0]", Input: `a="\x41"`, As: `a="A"`, Otherwise: `a="\\x41"`}}, classic,
		"the second, read alike by both, is not noted")
	require.Contains(t, classic[0].Warning(), `Alertmanager v0.28 reads it with its classic parser, as a="\\x41": to be read alike by both, write a="A"`)
}

// TestRuntimeMatchersStrict: a runtime window's matchers are kept as
// written, for every replica to read, an older Klaxon's too: one that
// only the classic parser reads is refused, saying what to write.
func TestRuntimeMatchersStrict(t *testing.T) {
	_, err := RuntimeWindow(klaxon.Maintenance{ID: "1", Matchers: []string{`instance=~"db\d+"`}})
	require.ErrorIs(t, err, klaxon.ErrInvalid)
	require.ErrorContains(t, err, `write instance=~"db\\d+"`)
	w, err := RuntimeWindow(klaxon.Maintenance{ID: "1", Matchers: []string{`instance=~"db\\d+"`}})
	require.NoError(t, err)
	require.True(t, w.Matchers.Matches(model.LabelSet{"instance": "db12"}))
}

// TestClassicMatcherStrayBraceRefused: a brace outside quotes other than
// the pair around the whole is no part of what was meant ({job=node
// exporter}} closes twice), yet the classic parser reads it into a value
// (job="node exporter}"): such a matcher, which only the classic parser
// reads, is refused, as one with anything past its closing brace is. A
// brace inside quotes is a value's.
func TestClassicMatcherStrayBraceRefused(t *testing.T) {
	for _, in := range []string{`{job=node exporter}}`, `{a=b}, c=d e}`, `a=b}c d`, `{{job=node exporter}`} {
		var classic []Classic
		_, errs := parseMatchers([]string{in}, "m", nil, &classic)
		require.NotEmpty(t, errs, "%q read as %+v", in, classic)
	}
	for _, in := range []string{`{job="node}", env=pro d}`, `a="{x}", b=c d`} {
		var classic []Classic
		_, errs := parseMatchers([]string{in}, "m", nil, &classic)
		require.Empty(t, errs, "%q", in)
	}
}
