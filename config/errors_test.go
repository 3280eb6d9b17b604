package config

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestLoadErrors(t *testing.T) {
	const (
		cfg   = "conf/klaxon.yaml"
		pol   = "conf/policies/default.yaml"
		users = "conf/users.yaml"
	)
	base := baseFiles[cfg]
	tests := []struct {
		name  string
		files map[string]string
		want  []string
	}{
		// Reading and parsing.
		{
			name:  "bad yaml",
			files: map[string]string{cfg: "route: [policy\n"},
			want:  []string{"conf/klaxon.yaml: yaml: line 1: did not find expected ',' or ']'"},
		},
		{
			name:  "not a map",
			files: map[string]string{cfg: "- a\n"},
			want:  []string{"conf/klaxon.yaml: yaml: unmarshal errors: line 1: cannot unmarshal !!seq into map[string]interface {}"},
		},
		{
			name:  "policies folder missing",
			files: map[string]string{pol: "", cfg: "route: {policy: default}\npolicies: nope/\nnotify: {console: {}}\n"},
			want:  []string{"conf/klaxon.yaml: policies: read folder conf/nope: no such file or directory"},
		},
		{
			name:  "users file missing",
			files: map[string]string{cfg: "route: {policy: default}\npolicies: policies\nusers: people.yaml\nnotify: {console: {}}\n"},
			want:  []string{"conf/people.yaml: no such file or directory"},
		},
		{
			name:  "policy file bad yaml",
			files: map[string]string{pol: "name: [\n"},
			want: []string{
				"conf/policies/default.yaml: yaml: line 1: did not find expected node content",
			},
		},

		// Strict keys and types.
		{
			name:  "a schedule member of the wrong type, said once",
			files: map[string]string{cfg: base + "schedules: schedules\n", "conf/schedules/s.yaml": "name: s\ntime_zone: UTC\nlayers:\n  - name: l\n    rotation: {every: 1w, handoff: \"2026-01-05T09:00\"}\n    members: [[x]]\n"},
			want:  []string{"conf/schedules/s.yaml: layers[0].members[0]: expected a string, got a list (quote it)"},
		},
		{
			name:  "unknown key",
			files: map[string]string{cfg: base + "lisen: 127.0.0.1:8080\n"},
			want:  []string{"conf/klaxon.yaml: lisen: unknown key"},
		},
		{
			name: "an Alertmanager route's keys",
			files: map[string]string{cfg: strings.Replace(base, "route:\n  policy: default\n",
				"route:\n  policy: default\n  receiver: ops\n  routes:\n    - {match: {service: db}, continue: true}\n", 1)},
			want: []string{
				"conf/klaxon.yaml: route.receiver: unknown key: a route names its escalation policy: policy: NAME",
				"conf/klaxon.yaml: route.routes[0].continue: unknown key: the first route that matches wins, and an alert goes to one policy; to page two teams, give the policy a step with both",
				`conf/klaxon.yaml: route.routes[0].match: unknown key: write matchers instead: matchers: ['service="db"', 'env=~"prod|staging"']`,
			},
		},
		{
			name:  "unknown nested keys",
			files: map[string]string{cfg: base + "  twillio: {}\nstore: {path: x.db, redis: {adrs: [a]}}\n\"odd key\": 1\n"},
			want: []string{
				"conf/klaxon.yaml: notify.twillio: unknown key",
				`conf/klaxon.yaml: "odd key": unknown key`,
				"conf/klaxon.yaml: store.redis.adrs: unknown key",
				"conf/klaxon.yaml: store.redis.addrs: required: at least one host:port",
			},
		},
		{
			name:  "fallback users and channel concurrency",
			files: map[string]string{cfg: base + "  concurrency: -1\nfallback: [alice, zed]\n"},
			want: []string{
				"conf/klaxon.yaml: notify.concurrency: must be 1 or more (0 or unset: 32)",
				`conf/klaxon.yaml: fallback[1]: unknown user "zed": not in conf/users.yaml`,
			},
		},
		{
			name: "unknown key in a route",
			files: map[string]string{cfg: `
route:
  policy: default
  routes:
    - matcher: ['a="1"']
policies: policies
users: users.yaml
notify: {console: {}}
`},
			want: []string{"conf/klaxon.yaml: route.routes[0].matcher: unknown key"},
		},
		{
			name: "auto_resolve not a boolean",
			files: map[string]string{cfg: `
route:
  policy: default
  auto_resolve: sometimes
policies: policies
users: users.yaml
notify: {console: {}}
`},
			want: []string{`conf/klaxon.yaml: route.auto_resolve: expected true or false, got "sometimes"`},
		},
		{
			name:  "unknown key in a policy",
			files: map[string]string{pol: "name: default\nsteps:\n  - targets: [user:alice]\n    escalte_after: 5m\n"},
			want: []string{
				"conf/policies/default.yaml: steps[0].escalte_after: unknown key",
			},
		},
		{
			name:  "escalate_after left out but on the last step of a policy without repeat",
			files: map[string]string{pol: "name: default\nrepeat: 1\nsteps:\n  - targets: [user:alice]\n  - targets: [user:alice]\n"},
			want: []string{
				"conf/policies/default.yaml: steps[0].escalate_after: required, like 5m (only the last step of a policy without repeat may leave it out)",
				"conf/policies/default.yaml: steps[1].escalate_after: required, like 5m (only the last step of a policy without repeat may leave it out)",
			},
		},
		{
			name:  "unknown key in users",
			files: map[string]string{users: "users:\n  - id: alice\n    phnoe: \"+15550100001\"\n"},
			want:  []string{"conf/users.yaml: users[0].phnoe: unknown key"},
		},
		{
			name:  "unknown top-level key in users",
			files: map[string]string{users: "user: []\n"},
			want: []string{
				"conf/users.yaml: user: unknown key",
				`conf/policies/default.yaml: steps[0].targets[0]: unknown user "alice": not in conf/users.yaml`,
			},
		},
		{
			name: "wrong types",
			files: map[string]string{
				cfg:   "route: {policy: default}\npolicies: policies\nusers: users.yaml\nnotify: {console: {}}\nlisten: {a: 1}\nintegrations: {name: x}\nstore: {redis: {addrs: [\"h:1\"], db: one, tls: maybe}}\n",
				pol:   "name: default\nrepeat: 1.5\nsteps:\n  - targets: user:alice\n    escalate_after: 5\n",
				users: "users:\n  - id: alice\n    phone: +15550100001\n",
			},
			want: []string{
				"conf/klaxon.yaml: integrations: expected a list, got a map",
				"conf/klaxon.yaml: listen: expected an address like 127.0.0.1:8080 or a list of listeners, got a map",
				`conf/klaxon.yaml: store.redis.db: expected a whole number, got "one"`,
				`conf/klaxon.yaml: store.redis.tls: expected true or false, got "maybe"`,
				"conf/users.yaml: users[0].phone: expected a string, got a number (quote it)",
				"conf/policies/default.yaml: repeat: expected a whole number, got 1.5",
				"conf/policies/default.yaml: steps[0].targets: expected a list, got a string",
				`conf/policies/default.yaml: steps[0].escalate_after: bad duration "5": want a number and a unit, like 30s, 5m, 1h30m, 2d or 1w`,
			},
		},

		// ${VAR}.
		{
			name:  "unset variable",
			files: map[string]string{cfg: base + "api: {tokens: [{name: ops, token: \"${KLAXON_TEST_UNSET}\"}]}\n"},
			want: []string{
				"conf/klaxon.yaml: api.tokens[0].token: environment variable KLAXON_TEST_UNSET is not set (use ${KLAXON_TEST_UNSET:-default} for a default)",
			},
		},
		{
			name:  "bad reference",
			files: map[string]string{users: "users:\n  - {id: alice, name: \"${}\", email: \"${MAIL\"}\n"},
			want: []string{
				"conf/users.yaml: users[0].email: unterminated ${ (write $${ for a literal ${)",
				"conf/users.yaml: users[0].name: bad reference ${}: want ${VAR} or ${VAR:-default}",
			},
		},

		// klaxon.yaml.
		{
			name:  "server",
			files: map[string]string{cfg: base + "listen: localhost\npublic_url: ftp://x\n"},
			want: []string{
				`conf/klaxon.yaml: listen: bad address "localhost": want host:port, like 127.0.0.1:8080`,
			},
		},
		{
			name:  "public_url",
			files: map[string]string{cfg: base + "public_url: /relative\n"},
			want:  []string{`conf/klaxon.yaml: public_url: bad URL "/relative": want http:// or https:// and a host`},
		},
		{
			name:  "policies required",
			files: map[string]string{cfg: "route: {policy: default}\nusers: users.yaml\nnotify: {console: {}}\n"},
			want:  []string{"conf/klaxon.yaml: policies: required: the folder of policy files, like policies/"},
		},
		{
			name: "heartbeats",
			files: map[string]string{cfg: "route: {policy: default}\npolicies: policies\nusers: users.yaml\nnotify: {console: {}}\n" + `integrations:
  - {name: a, type: heartbeat, token: a}
  - {name: b, type: heartbeat, token: b, interval: 5s}
  - {name: c, type: heartbeat, token: c, interval: 5m, grace: soon}
  - {name: d, type: generic, token: d, interval: 5m}
  - {name: e, type: heartbeat, token: e, interval: 5m, grace: 0s}
`},
			want: []string{
				"conf/klaxon.yaml: integrations[0].interval: required: how often the sender pings, like 5m",
				"conf/klaxon.yaml: integrations[1].interval: must be from 10s to 100 years, got 5s",
				`conf/klaxon.yaml: integrations[2].grace: bad duration "soon": want a number and a unit, like 30s, 5m, 1h30m, 2d or 1w`,
				"conf/klaxon.yaml: integrations[3].interval: interval and grace are a heartbeat's (type: heartbeat)",
			},
		},
		{
			name: "integrations",
			files: map[string]string{cfg: "route: {policy: default}\npolicies: policies\nusers: users.yaml\nnotify: {console: {}}\n" + `integrations:
  - {type: alertmanager, token: a}
  - {name: a/b, type: datadog, token: b}
  - {name: x, type: nagios, token: c}
  - {name: x, token: c}
  - {name: y, type: generic}
  - {name: z, type: generic, token: z, labels: {integration: other, team: a}}
  - {name: .., type: heartbeat, token: hb-token-0123456789, interval: 5m}
`},
			want: []string{
				"conf/klaxon.yaml: integrations[0].name: required",
				`conf/klaxon.yaml: integrations[1].name: must not contain "/"`,
				`conf/klaxon.yaml: integrations[2].type: unknown type "nagios": want alertmanager, datadog, pagerduty, generic or heartbeat`,
				`conf/klaxon.yaml: integrations[3].name: "x" is also the name of integrations[2]`,
				"conf/klaxon.yaml: integrations[3].type: required: alertmanager, datadog, pagerduty, generic or heartbeat",
				"conf/klaxon.yaml: integrations[3].token: same as the token of integrations[2]: each integration needs its own",
				"conf/klaxon.yaml: integrations[4].token: required",
				"conf/klaxon.yaml: integrations[5].labels.integration: every alert carries integration=<its integration's name> already",
				`conf/klaxon.yaml: integrations[6].name: ".." cannot be a name: a URL path of it is not one of its own once cleaned`,
			},
		},
		{
			name:  "api tokens",
			files: map[string]string{cfg: base + "api: {tokens: [{token: a}, {name: ops}, {name: ops, token: a}]}\n"},
			want: []string{
				"conf/klaxon.yaml: api.tokens[0].name: required",
				"conf/klaxon.yaml: api.tokens[1].token: required",
				`conf/klaxon.yaml: api.tokens[2].name: "ops" is also the name of api.tokens[1]`,
				"conf/klaxon.yaml: api.tokens[2].token: same as the token of api.tokens[0]",
			},
		},
		{
			name:  "api token scopes",
			files: map[string]string{cfg: base + "api: {tokens: [{name: a, token: a, scopes: [read]}, {name: b, token: b, scopes: [write, act, Admin]}, {name: c, token: c, scopes: []}, {name: d, token: d, scopes: read, act_as: maybe}]}\n"},
			want: []string{
				"conf/klaxon.yaml: api.tokens[3].act_as: expected true or false, got \"maybe\"",
				"conf/klaxon.yaml: api.tokens[3].scopes: expected a list, got a string",
				`conf/klaxon.yaml: api.tokens[1].scopes[0]: unknown scope "write": want read, act or admin`,
				`conf/klaxon.yaml: api.tokens[1].scopes[2]: unknown scope "Admin": want read, act or admin`,
				"conf/klaxon.yaml: api.tokens[2].scopes: a token needs at least one scope: read, act or admin",
			},
		},
		{
			name: "feed tokens",
			files: map[string]string{
				cfg: base + "schedules: schedules\napi:\n  tokens: [{name: ops, token: a}]\n  feed_tokens:\n" +
					"    - {name: cal, schedule: primary, token: f}\n" +
					"    - {name: cal, schedule: nope, token: f}\n" +
					"    - {token: a}\n" +
					"    - {name: x, schedule: primary, scopes: [read]}\n",
				"conf/schedules/primary.yaml": primarySchedule,
			},
			want: []string{
				"conf/klaxon.yaml: api.feed_tokens[3].scopes: unknown key",
				`conf/klaxon.yaml: api.feed_tokens[1].name: "cal" is also the name of api.feed_tokens[0]`,
				"conf/klaxon.yaml: api.feed_tokens[1].token: same as the token of api.feed_tokens[0]",
				"conf/klaxon.yaml: api.feed_tokens[2].name: required",
				"conf/klaxon.yaml: api.feed_tokens[2].schedule: required: the schedule whose calendar feed the token reads",
				"conf/klaxon.yaml: api.feed_tokens[2].token: same as the token of api.tokens[0]: a feed token needs its own",
				"conf/klaxon.yaml: api.feed_tokens[3].token: required",
				`conf/klaxon.yaml: api.feed_tokens[1].schedule: unknown schedule "nope": no file in conf/schedules defines it`,
			},
		},
		{
			name:  "feed token without schedules",
			files: map[string]string{cfg: base + "api: {feed_tokens: [{name: cal, schedule: primary, token: f}]}\n"},
			want:  []string{`conf/klaxon.yaml: api.feed_tokens[0].schedule: unknown schedule "primary": the config sets no schedules folder`},
		},
		{
			name: "route",
			files: map[string]string{cfg: `
route:
  matchers: ['a="1"']
  routes:
    - matchers: ['service=payments"']
    - matchers: ['team="db"']
      policy: dba
policies: policies
users: users.yaml
notify: {console: {}}
`},
			want: []string{
				`conf/klaxon.yaml: route.matchers: not allowed on the root route, which takes every alert`,
				`conf/klaxon.yaml: route.policy: required`,
				`conf/klaxon.yaml: route.routes[0].matchers[0]: bad matcher "service=payments\"": 16:17: ": missing end ": expected a comma or close brace`,
				`conf/klaxon.yaml: route.routes[1].policy: unknown policy "dba": no file in policies defines it`,
			},
		},
		{
			name: "webhook",
			files: map[string]string{cfg: base + `  webhook: {url: "ftp://x", format: teams}
`},
			want: []string{
				"conf/klaxon.yaml: notify.webhook.url: want an http:// or https:// URL with a host",
				`conf/klaxon.yaml: notify.webhook.format: unknown format "teams": want json or slack`,
			},
		},
		{
			name: "limits",
			files: map[string]string{cfg: base + `  limits: {sms: soon, voice: -1m}
`},
			want: []string{
				`conf/klaxon.yaml: notify.limits.sms: bad duration "soon": want a number and a unit, like 30s, 5m, 1h30m, 2d or 1w`,
				"conf/klaxon.yaml: notify.limits.voice: must be 0s or more",
			},
		},
		{
			name:  "api bounds",
			files: map[string]string{cfg: base + "api: {max_snooze: 0s, max_override: forever}\n"},
			want: []string{
				"conf/klaxon.yaml: api.max_snooze: must be positive and at most 100 years, got 0s",
				"conf/klaxon.yaml: api.max_override: bad duration \"forever\": want a number and a unit, like 30s, 5m, 1h30m, 2d or 1w",
			},
		},
		{
			name:  "api bound past a century",
			files: map[string]string{cfg: base + "api: {max_override: 36601d}\n"},
			want:  []string{"conf/klaxon.yaml: api.max_override: must be positive and at most 100 years, got 36601d"},
		},
		{
			name: "mail needs a secret for its links",
			files: map[string]string{cfg: base + `  smtp: {host: mail.example.com, from: k@example.com}
`},
			want: []string{"conf/klaxon.yaml: secret: required with notify.smtp: it signs the acknowledgement links in mail"},
		},
		{
			name: "twilio credentials as Twilio checks them",
			files: map[string]string{cfg: base + `  twilio: {account_sid: AC..., auth_token: "${TWILIO_AUTH_TOKEN:-changeme}", from: "+15550100000"}
`},
			want: []string{
				`conf/klaxon.yaml: notify.twilio.account_sid: "AC..." is not an account SID: want AC and 32 hex digits, from the Twilio console`,
				"conf/klaxon.yaml: notify.twilio.auth_token: not an auth token: want the 32 letters and digits of the Twilio console",
			},
		},
		{
			name: "an API key for the account",
			files: map[string]string{cfg: base + `  twilio: {account_sid: SK0123456789abcdef0123456789abcdef, auth_token: 0123456789abcdef0123456789abcdef, from: "+15550100000"}
`},
			want: []string{
				"conf/klaxon.yaml: notify.twilio.account_sid: SK0123… is an API key's SID: account_sid is the account's, AC and 32 hex digits, and auth_token its auth token",
			},
		},
		{
			name: "notify",
			files: map[string]string{cfg: base + `  twilio: {from: "5550100"}
  smtp: {host: "", port: 70000, from: "not an address", tls: startls}
secret: short
`},
			want: []string{
				"conf/klaxon.yaml: notify.twilio.account_sid: required",
				"conf/klaxon.yaml: notify.twilio.auth_token: required",
				"conf/klaxon.yaml: notify.twilio.from: want a phone number in E.164 form, like +15550100000",
				"conf/klaxon.yaml: secret: too short: at least 16 characters",
				"conf/klaxon.yaml: notify.smtp.host: required",
				"conf/klaxon.yaml: notify.smtp.port: must be from 1 to 65535",
				`conf/klaxon.yaml: notify.smtp.from: bad address "not an address"`,
				`conf/klaxon.yaml: notify.smtp.tls: unknown mode "startls": want starttls, tls or none`,
			},
		},
		{
			name:  "redis",
			files: map[string]string{cfg: base + "store: {redis: {addrs: [localhost], db: -1, timeout: 2h, sentinel_password: x, wait_replicas: -1}}\n"},
			want: []string{
				`conf/klaxon.yaml: store.redis.addrs[0]: bad address "localhost": want host:port`,
				"conf/klaxon.yaml: store.redis.db: must be 0 or more",
				"conf/klaxon.yaml: store.redis.sentinel_password: only with master_name: the addresses are Sentinels' then",
				"conf/klaxon.yaml: store.redis.wait_replicas: must be 0 or more",
				"conf/klaxon.yaml: store.redis.timeout: must be from 250ms to 1m, got 2h",
			},
		},
		{
			name:  "redis timeout",
			files: map[string]string{cfg: base + "store: {redis: {addrs: [\"127.0.0.1:6379\"], timeout: soon}}\n"},
			want:  []string{`conf/klaxon.yaml: store.redis.timeout: bad duration "soon": want a number and a unit, like 30s, 5m, 1h30m, 2d or 1w`},
		},
		{
			name:  "redis wait",
			files: map[string]string{cfg: base + "store: {redis: {addrs: [\"127.0.0.1:6379\"], wait_timeout: 1s}}\n"},
			want:  []string{"conf/klaxon.yaml: store.redis.wait_timeout: only with wait_replicas"},
		},
		{
			name:  "redis wait timeout",
			files: map[string]string{cfg: base + "store: {redis: {addrs: [\"127.0.0.1:6379\"], wait_replicas: 1, wait_timeout: 5ms}}\n"},
			want:  []string{"conf/klaxon.yaml: store.redis.wait_timeout: must be from 10ms to 1m, got 5ms"},
		},

		// Policies.
		{
			name: "policy",
			files: map[string]string{pol: `
repeat: -1
ack_timeout: -5m
steps:
  - targets: [alice, "user:", "team:x", user:zed]
    escalate_after: 0s
  - targets: []
    escalate_after: 1.5d
`},
			want: []string{
				"conf/policies/default.yaml: name: required",
				"conf/policies/default.yaml: repeat: must be 0 or more",
				"conf/policies/default.yaml: ack_timeout: must be 0s or more",
				`conf/policies/default.yaml: steps[0].targets[0]: bad target "alice": want user:ID or schedule:NAME`,
				`conf/policies/default.yaml: steps[0].targets[1]: bad target "user:": want user:ID or schedule:NAME`,
				`conf/policies/default.yaml: steps[0].targets[2]: bad target "team:x": want user:ID or schedule:NAME`,
				`conf/policies/default.yaml: steps[0].targets[3]: unknown user "zed": not in conf/users.yaml`,
				"conf/policies/default.yaml: steps[0].escalate_after: must be more than 0s",
				"conf/policies/default.yaml: steps[1].targets: required: at least one user:ID or schedule:NAME",
				`conf/policies/default.yaml: steps[1].escalate_after: bad duration "1.5d": want a number and a unit, like 30s, 5m, 1h30m, 2d or 1w`,
				`conf/klaxon.yaml: route.policy: unknown policy "default": no file in policies defines it`,
			},
		},
		{
			name: "duplicate and empty policies",
			files: map[string]string{
				"conf/policies/copy.yml":    "name: default\nsteps: [{targets: [user:alice], escalate_after: 1m}]\n",
				"conf/policies/empty.yaml":  "# nothing yet\n",
				"conf/policies/notes.txt":   "not a policy",
				"conf/policies/.swap.yaml":  "not: a policy",
				"conf/policies/sub/x.yaml":  "not: a policy",
				"conf/policies/invalid.yml": "name: broken\nrepeat: 2\nsteps: [{targets: [user:alice]}]\n",
			},
			want: []string{
				`conf/policies/default.yaml: name: policy "default" is also defined in conf/policies/copy.yml`,
				"conf/policies/empty.yaml: name: required",
				"conf/policies/empty.yaml: steps: required: at least one step",
				"conf/policies/invalid.yml: steps[0].escalate_after: required, like 5m (only the last step of a policy without repeat may leave it out)",
			},
		},
		{
			name:  "no users file",
			files: map[string]string{users: "", cfg: "route: {policy: default}\npolicies: policies\nnotify: {console: {}}\n"},
			want:  []string{`conf/policies/default.yaml: steps[0].targets[0]: unknown user "alice": the config sets no users file`},
		},

		// Users.
		{
			name: "users",
			files: map[string]string{users: `
users:
  - id: alice
    phone: "555-0100"
    email: "Alice <alice@example.com>"
    time_zone: Mars/Olympus
    notify:
      - {via: fax}
      - {via: sms, after: soon}
      - {via: voice, after: -1m}
      - {}
      - {via: sms, urgency: urgent}
  - {name: nobody}
  - {id: bob, notify: [{via: sms}, {via: email}]}
  - {id: bob, email: bob@example.com}
`},
			want: []string{
				"conf/users.yaml: users[0].phone: want a phone number in E.164 form, like +15550100001",
				`conf/users.yaml: users[0].email: bad address "Alice <alice@example.com>": want a bare address, like alice@example.com`,
				`conf/users.yaml: users[0].time_zone: unknown time zone "Mars/Olympus": want an IANA name, like Europe/Berlin`,
				`conf/users.yaml: users[0].notify[0].via: unknown "fax": want sms, voice, email, webhook or slack`,
				`conf/users.yaml: users[0].notify[1].after: bad duration "soon": want a number and a unit, like 30s, 5m, 1h30m, 2d or 1w`,
				"conf/users.yaml: users[0].notify[2].after: must be 0s or more",
				"conf/users.yaml: users[0].notify[3].via: required: sms, voice, email, webhook or slack",
				`conf/users.yaml: users[0].notify[4].urgency: must be high or low, got "urgent"`,
				"conf/users.yaml: users[1].id: required",
				"conf/users.yaml: users[2].notify[0].via: sms needs the user's phone",
				"conf/users.yaml: users[2].notify[1].via: email needs the user's email",
				`conf/users.yaml: users[3].id: "bob" is also the id of users[2]`,
			},
		},
		{
			name: "a slack channel without notify.slack, and bad subscribers",
			files: map[string]string{pol: "name: default\nslack_channel: C0123\nsubscribers: [user:nobody, ftp://x, user:alice]\nsteps: [{targets: [user:alice]}]\n",
				users: "users:\n  - {id: alice, phone: \"+15550100001\"}\n"},
			want: []string{
				`conf/policies/default.yaml: subscribers[0]: unknown user "nobody": not in conf/users.yaml`,
				`conf/policies/default.yaml: subscribers[1]: bad subscriber "ftp://x": want user:ID or an http(s) URL`,
				`conf/policies/default.yaml: subscribers[2]: user "alice" has no email: updates go by email`,
				"conf/policies/default.yaml: slack_channel: needs notify.slack in the config: the Slack app that posts the messages",
			},
		},
		{
			name:  "a route's subscribers and slack channel",
			files: map[string]string{cfg: "policies: policies\nusers: users.yaml\nnotify: {console: {}}\nroute:\n  policy: default\n  subscribers: [user:nobody]\n  routes:\n    - {matchers: ['service=\"db\"'], subscribers: [mailto:x], slack_channel: C0DB}\n"},
			want: []string{
				`conf/klaxon.yaml: route.subscribers[0]: unknown user "nobody": not in conf/users.yaml`,
				`conf/klaxon.yaml: route.routes[0].subscribers[0]: bad subscriber "mailto:x": want user:ID or an http(s) URL`,
				"conf/klaxon.yaml: route.routes[0].slack_channel: needs notify.slack in the config: the Slack app that posts the messages",
			},
		},
		{
			name: "web tokens",
			files: map[string]string{cfg: base + "api: {tokens: [{name: ops, token: ops-token-0123456789}], feed_tokens: [{name: cal, schedule: primary, token: cal-feed-token-0123}]}\n", users: `
users:
  - {id: alice, web_token: short}
  - {id: bob, web_token: bob-web-token-0123}
  - {id: carol, web_token: bob-web-token-0123}
  - {id: dave, web_token: ops-token-0123456789}
  - {id: erin, web_token: cal-feed-token-0123}
`},
			want: []string{
				"conf/users.yaml: users[0].web_token: too short: at least 16 characters",
				"conf/users.yaml: users[2].web_token: same as the web_token of users[1]: each user needs their own",
				"conf/users.yaml: users[3].web_token: same as an API token (api.tokens): a web token needs its own",
				"conf/users.yaml: users[4].web_token: same as a feed token (api.feed_tokens), which sits in a calendar's URL: a web token needs its own",
				`conf/klaxon.yaml: api.feed_tokens[0].schedule: unknown schedule "primary": the config sets no schedules folder`,
			},
		},
		{
			name: "integrations and API tokens that share a secret or a user's name",
			files: map[string]string{cfg: "route: {policy: default}\npolicies: policies\nusers: users.yaml\nnotify: {console: {}}\n" + `api:
  tokens: [{name: ops, token: ops-token-0123456789}, {name: bob, token: bob-token-0123456789, scopes: [act]}]
  feed_tokens: [{name: cal, schedule: primary, token: feed-token-0123456789}]
integrations:
  - {name: am, type: alertmanager, token: ops-token-0123456789}
  - {name: dd, type: datadog, token: feed-token-0123456789}
  - {name: tools, type: pagerduty, token: alice-web-token-0123}
  - {name: carol, type: pagerduty, token: carol-pd-key-0123456}
`, users: `
users:
  - {id: alice, web_token: alice-web-token-0123}
  - {id: bob}
  - {id: carol}
`},
			want: []string{
				"conf/klaxon.yaml: integrations[0].token: same as the token of api.tokens[0]: an integration's token sits in its sender's config and may be guessed without limit, so it must open nothing else; give it one of its own",
				"conf/klaxon.yaml: integrations[1].token: same as the token of api.feed_tokens[0]: an integration's token sits in its sender's config and may be guessed without limit, so it must open nothing else; give it one of its own",
				"conf/klaxon.yaml: integrations[2].token: same as a user's web_token: an integration's token sits in its sender's config and may be guessed without limit, so it must open nothing else; give it one of its own",
				`conf/klaxon.yaml: integrations[3].name: "carol" is the ID of a user: its acts (a PagerDuty acknowledge) would read as theirs in the timeline; name it otherwise`,
				`conf/klaxon.yaml: api.tokens[1].name: "bob" is the ID of a user: the token's acts would read as theirs in the timeline; name it for who holds it (ops, ci), and give them act_as to act for bob`,
				`conf/klaxon.yaml: api.feed_tokens[0].schedule: unknown schedule "primary": the config sets no schedules folder`,
			},
		},
		{
			name:  "trusted proxies",
			files: map[string]string{cfg: base + "trusted_proxies: [10.0.0.0/8, 192.0.2.7, \"fd00::/8\", proxy.local, 10.0.0.0/33]\n"},
			want: []string{
				`conf/klaxon.yaml: trusted_proxies[3]: bad address "proxy.local": want an IP address or a CIDR prefix, like 10.0.0.0/8`,
				`conf/klaxon.yaml: trusted_proxies[4]: bad address "10.0.0.0/33": want an IP address or a CIDR prefix, like 10.0.0.0/8`,
			},
		},
		{
			name: "users who share a phone or a Slack ID",
			files: map[string]string{users: `
users:
  - {id: alice, phone: "+15550100001", slack_id: U0ALICE}
  - {id: bob, phone: "+15550100001"}
  - {id: carol, phone: "+15550100003", slack_id: U0ALICE}
`},
			want: []string{
				"conf/users.yaml: users[1].phone: same as the phone of users[0]: what comes from it could not say which of them acts (a team's phone is a user of its own)",
				"conf/users.yaml: users[2].slack_id: same as the slack_id of users[0]: what comes from it could not say which of them acts",
			},
		},
		{
			name:  "a number is not a duration",
			files: map[string]string{users: "users:\n  - {id: alice, phone: \"+15550100001\", notify: [{via: sms, after: 90}]}\n"},
			want:  []string{`conf/users.yaml: users[0].notify[0].after: bad duration "90": want a number and a unit, like 30s, 5m, 1h30m, 2d or 1w`},
		},
		{
			name: "no channel reaches a user",
			files: map[string]string{
				cfg:   "route: {policy: default}\npolicies: policies\nusers: users.yaml\nnotify: {smtp: {host: mail, from: k@example.com}}\n" + "secret: 0123456789abcdef\n",
				users: "users:\n  - {id: alice, phone: \"+15550100001\", notify: [{via: sms}, {via: email}]}\n  - {id: bob, phone: \"+15550100002\"}\n",
			},
			want: []string{
				"conf/users.yaml: users[0].notify[0].via: sms needs notify.twilio or notify.console in the config",
				"conf/users.yaml: users[0].notify[1].via: email needs the user's email",
				"conf/users.yaml: users[1].notify: none set, and no channel in notify reaches this user by default: set a phone or email with notify.twilio or notify.smtp, or turn on notify.console",
			},
		},

		// Schedules.
		{
			name: "schedule",
			files: map[string]string{
				cfg: base + "schedules: schedules\n",
				"conf/schedules/primary.yaml": `
name: primary
time_zone: Mars/Olympus
layers:
  - name: weekly
    rotation: {every: 1x, handoff: "2026-01-05T09:00", start: x}
    members: [alice, zed, ""]
  - name: days
    rotation: {every: 1d, handoff: "2026-01-05T09:00"}
    members: []
    restrict: [{days: [mon, funday], from: "09:00", to: "17:00"}]
overrides:
  - {user: yan, from: "2026-12-24T00:00", to: "2026-12-26T00:00"}
  - {user: alice, from: "2026-12-24", to: "2026-12-23T00:00"}
`,
				"conf/schedules/copy.yml":   strings.Replace(primarySchedule, "primary", "secondary", 1),
				"conf/schedules/copy2.yaml": strings.Replace(primarySchedule, "primary", "secondary", 1),
				"conf/schedules/empty.yaml": "# nothing yet\n",
				"conf/schedules/notes.txt":  "not a schedule",
			},
			want: []string{
				`conf/schedules/copy2.yaml: name: schedule "secondary" is also defined in conf/schedules/copy.yml`,
				"conf/schedules/empty.yaml: name: missing",
				"conf/schedules/empty.yaml: time_zone: missing",
				"conf/schedules/empty.yaml: layers: no layers",
				"conf/schedules/primary.yaml: layers[0].rotation.start: unknown key",
				`conf/schedules/primary.yaml: time_zone: unknown time zone "Mars/Olympus"`,
				`conf/schedules/primary.yaml: layers[0].rotation.every: bad duration "1x"`,
				"conf/schedules/primary.yaml: layers[0].members[2]: empty user",
				"conf/schedules/primary.yaml: layers[1].members: empty rotation",
				`conf/schedules/primary.yaml: layers[1].restrict[0].days[1]: unknown day "funday" (want mon..sun)`,
				`conf/schedules/primary.yaml: overrides[1].from: bad time "2026-12-24" (want YYYY-MM-DDTHH:MM or RFC 3339)`,
				`conf/schedules/primary.yaml: layers[0].members[1]: unknown user "zed": not in conf/users.yaml`,
				`conf/schedules/primary.yaml: overrides[0].user: unknown user "yan": not in conf/users.yaml`,
			},
		},
		{
			name: "schedule targets",
			files: map[string]string{
				cfg:                          base + "schedules: schedules/\n",
				"conf/schedules/primary.yml": primarySchedule,
				"conf/schedules/broken.yml":  "name: broken\n",
				pol:                          "name: default\nsteps: [{targets: [schedule:primary, schedule:broken, schedule:nope], escalate_after: 1m}]\n",
			},
			want: []string{
				"conf/schedules/broken.yml: time_zone: missing",
				"conf/schedules/broken.yml: layers: no layers",
				`conf/policies/default.yaml: steps[0].targets[2]: unknown schedule "nope": no file in conf/schedules defines it`,
			},
		},
		{
			name:  "schedule target without schedules",
			files: map[string]string{pol: "name: default\nsteps: [{targets: [schedule:primary], escalate_after: 1m}]\n"},
			want:  []string{`conf/policies/default.yaml: steps[0].targets[0]: unknown schedule "primary": the config sets no schedules folder`},
		},
		{
			name: "schedules folder or a file unreadable",
			files: map[string]string{
				cfg:                         base + "schedules: schedules\n",
				"conf/schedules/broken.yml": "name: [\n",
				pol:                         "name: default\nsteps: [{targets: [schedule:primary], escalate_after: 1m}]\n",
			},
			want: []string{"conf/schedules/broken.yml: yaml: line 1: did not find expected node content"},
		},
		{
			name:  "schedules folder missing",
			files: map[string]string{cfg: base + "schedules: nope/\n"},
			want:  []string{"conf/klaxon.yaml: schedules: read folder conf/nope: no such file or directory"},
		},
		{
			// Only the first document was read: a second schedule, or
			// overrides appended after ---, were dropped without a word.
			name: "a second yaml document in a file",
			files: map[string]string{
				cfg: base + "schedules: schedules\n",
				"conf/schedules/primary.yaml": primarySchedule + `---
name: secondary
time_zone: Europe/Berlin
layers:
  - {rotation: {every: 1d, handoff: "2026-01-05T09:00"}, members: [alice]}
`,
			},
			want: []string{"conf/schedules/primary.yaml: a second YAML document (after ---): a file holds one"},
		},
		{
			// The parser reads the first document alone, so a second
			// one with a mistake in it (a bracket not closed) was not
			// even parsed: dropped without a word too.
			name: "a second yaml document in a file, not valid yaml",
			files: map[string]string{
				cfg: base + "schedules: schedules\n",
				"conf/schedules/primary.yaml": primarySchedule + `---
name: secondary
time_zone: Europe/Berlin
layers:
  - {rotation: {every: 1d, handoff: "2026-01-05T09:00"}, members: [alice]
`,
			},
			want: []string{"conf/schedules/primary.yaml: a second YAML document (after ---): a file holds one"},
		},
		{
			name: "schedule users without a users file",
			files: map[string]string{
				users:                        "",
				pol:                          "name: default\nsteps: [{targets: [schedule:primary], escalate_after: 1m}]\n",
				cfg:                          "route: {policy: default}\npolicies: policies\nschedules: schedules\nnotify: {console: {}}\n",
				"conf/schedules/primary.yml": primarySchedule,
			},
			want: []string{`conf/schedules/primary.yml: layers[0].members[0]: unknown user "alice": the config sets no users file`},
		},

		// All at once.
		{
			name: "every file's errors are reported",
			files: map[string]string{
				cfg:   base + "lisen: x\n",
				pol:   "name: default\nsteps: [{targets: [user:alice], escalate_after: 5m, when: always}]\n",
				users: "users: [{id: alice, phone: \"+15550100001\", pager: yes}]\n",
			},
			want: []string{
				"conf/klaxon.yaml: lisen: unknown key",
				"conf/users.yaml: users[0].pager: unknown key",
				"conf/policies/default.yaml: steps[0].when: unknown key",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			setup(t, tt.files)
			c, err := Load(cfg, nil)
			require.Nil(t, c)
			require.Equal(t, tt.want, lines(t, err))
		})
	}
}
