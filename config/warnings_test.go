package config

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestWarnings(t *testing.T) {
	// Monday 2026-11-23 00:00 UTC, Sunday 19:00 in New York.
	now := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
	const cfg = "conf/klaxon.yaml"
	withSchedules := baseFiles[cfg] + "schedules: schedules\n"
	weekdays := `
name: weekdays
time_zone: America/New_York
layers:
  - name: weekly
    rotation: {every: 1w, handoff: "2026-01-05T09:00"}
    members: [alice]
    restrict: [{days: [mon, tue, wed, thu, fri], from: "00:00", to: "24:00"}]
`
	office := `
name: office
time_zone: UTC
layers:
  - name: days
    rotation: {every: 1d, handoff: "2026-01-05T09:00"}
    members: [alice]
    restrict: [{days: [mon, tue, wed, thu, fri], from: "09:00", to: "17:00"}]
`
	routes := strings.Replace(baseFiles[cfg], "route:\n  policy: default\n", `route:
  policy: default
  routes:
    - matchers: ['integration="promtheus"']
    - matchers: ['integration=~"prom|dd"', 'severity="critical"']
      routes:
        - matchers: ['team="a"', 'team="b"']
        - matchers: ['team="c"']
    - matchers: []
    - matchers: ['service="db"']
`, 1)
	tests := []struct {
		name  string
		files map[string]string
		want  []string
	}{
		{
			name: "no schedules",
		},
		{
			name:  "routes no alert can take",
			files: map[string]string{cfg: routes},
			want: []string{
				`conf/klaxon.yaml: route.routes[0]: matches no integration's alerts: integration="promtheus"; the integrations are prom (a sender may set the label itself)`,
				`conf/klaxon.yaml: route.routes[1].routes[0]: never matches: it asks team to be both "a" and "b"`,
				`conf/klaxon.yaml: route.routes[3]: never reached: route.routes[2] before it has no matchers and takes every alert`,
			},
		},
		{
			name:  "API tokens that do not say their scopes",
			files: map[string]string{cfg: baseFiles[cfg] + "api: {tokens: [{name: ops, token: ops-token-0123456}, {name: ro, token: ro-token-01234567, scopes: [read]}, {name: bot, token: c}]}\n"},
			want: []string{
				`conf/klaxon.yaml: api.tokens[0]: token "ops" says no scopes, so it has them all (read, act, admin): list the ones it needs`,
				`conf/klaxon.yaml: api.tokens[2]: token "bot" says no scopes, so it has them all (read, act, admin): list the ones it needs`,
				"conf/klaxon.yaml: api.tokens[2].token: a token of 1 character can be guessed: give it 16 random characters or more (openssl rand -hex 16)",
			},
		},
		{
			name:  "replicas on Redis without a secret",
			files: map[string]string{cfg: baseFiles[cfg] + "store: {redis: {addrs: [127.0.0.1:6379]}}\n"},
			want: []string{
				"conf/klaxon.yaml: secret: unset with store.redis: each replica signs web console sessions with a random key of its own, so a session signed in on one replica is sent to sign in again on the others; set secret (the same on every replica, 16 random characters or more)",
			},
		},
		{
			name:  "replicas on Redis with a secret",
			files: map[string]string{cfg: baseFiles[cfg] + "store: {redis: {addrs: [127.0.0.1:6379]}}\nsecret: 0123456789abcdef0123\n"},
		},
		{
			name:  "full coverage",
			files: map[string]string{cfg: withSchedules, "conf/schedules/primary.yaml": primarySchedule},
		},
		{
			name:  "weekends",
			files: map[string]string{cfg: withSchedules, "conf/schedules/weekdays.yaml": weekdays},
			want: []string{
				"conf/schedules/weekdays.yaml: nobody on call Sun 19:00–24:00 America/New_York (2026-11-22)",
				"conf/schedules/weekdays.yaml: nobody on call Sat 00:00–Mon 00:00 America/New_York (2026-11-28)",
				"conf/schedules/weekdays.yaml: nobody on call Sat 00:00–Mon 00:00 America/New_York (2026-12-05)",
				"conf/schedules/weekdays.yaml: nobody on call Sat 00:00–Mon 00:00 America/New_York (2026-12-12)",
				"conf/schedules/weekdays.yaml: nobody on call Sat 00:00–Sun 19:00 America/New_York (2026-12-19)",
			},
		},
		{
			name: "many gaps, and a policy that pages nobody now",
			files: map[string]string{
				cfg:                            withSchedules,
				"conf/schedules/office.yaml":   office,
				"conf/schedules/weekdays.yaml": weekdays,
				"conf/policies/default.yaml":   "name: default\nsteps: [{targets: [schedule:office], escalate_after: 5m}, {targets: [schedule:office, schedule:weekdays], escalate_after: 5m}]\n",
				"conf/policies/backup.yaml":    "name: backup\nsteps: [{targets: [schedule:office], escalate_after: 5m}, {targets: [user:alice], escalate_after: 5m}]\n",
			},
			want: []string{
				"conf/schedules/office.yaml: nobody on call Mon 00:00–09:00 UTC (2026-11-23)",
				"conf/schedules/office.yaml: nobody on call Mon 17:00–Tue 09:00 UTC (2026-11-23)",
				"conf/schedules/office.yaml: nobody on call Tue 17:00–Wed 09:00 UTC (2026-11-24)",
				"conf/schedules/office.yaml: nobody on call Wed 17:00–Thu 09:00 UTC (2026-11-25)",
				"conf/schedules/office.yaml: nobody on call Thu 17:00–Fri 09:00 UTC (2026-11-26)",
				"conf/schedules/office.yaml: nobody on call Fri 17:00–Mon 09:00 UTC (2026-11-27)",
				"conf/schedules/office.yaml: nobody on call Mon 17:00–Tue 09:00 UTC (2026-11-30)",
				"conf/schedules/office.yaml: nobody on call Tue 17:00–Wed 09:00 UTC (2026-12-01)",
				"conf/schedules/office.yaml: nobody on call Wed 17:00–Thu 09:00 UTC (2026-12-02)",
				"conf/schedules/office.yaml: nobody on call Thu 17:00–Fri 09:00 UTC (2026-12-03)",
				"conf/schedules/office.yaml: … and 11 more gaps in the next 4 weeks",
				"conf/schedules/weekdays.yaml: nobody on call Sun 19:00–24:00 America/New_York (2026-11-22)",
				"conf/schedules/weekdays.yaml: nobody on call Sat 00:00–Mon 00:00 America/New_York (2026-11-28)",
				"conf/schedules/weekdays.yaml: nobody on call Sat 00:00–Mon 00:00 America/New_York (2026-12-05)",
				"conf/schedules/weekdays.yaml: nobody on call Sat 00:00–Mon 00:00 America/New_York (2026-12-12)",
				"conf/schedules/weekdays.yaml: nobody on call Sat 00:00–Sun 19:00 America/New_York (2026-12-19)",
				"conf/policies/default.yaml: steps: pages nobody at 2026-11-23T00:00:00Z: every schedule its steps target has nobody on call",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			setup(t, tt.files)
			c, err := Load(cfg, nil)
			require.NoError(t, err)
			var got []string
			for _, w := range c.Warnings(now) {
				got = append(got, w.String())
			}
			require.Equal(t, tt.want, got)
			require.Equal(t, got, func() []string {
				var again []string
				for _, w := range c.Warnings(now) {
					again = append(again, w.String())
				}
				return again
			}(), "deterministic")
		})
	}
}

func TestWarningString(t *testing.T) {
	require.Equal(t, "a.yaml: steps: m", Warning{File: "a.yaml", Path: "steps", Msg: "m"}.String())
	require.Equal(t, "a.yaml: m", Warning{File: "a.yaml", Msg: "m"}.String())
}
