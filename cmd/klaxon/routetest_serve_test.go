package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// truthConfig writes a config whose files are files (klaxon.yaml's
// listen, store, tokens and console are set here) and returns its path.
func truthConfig(t *testing.T, main string, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	all := map[string]string{"klaxon.yaml": `listen: 127.0.0.1:0
store: {path: data/klaxon.db}
api:
  tokens:
    - {name: ops, token: ` + apiToken + `, scopes: [admin], act_as: true}
integrations:
  - {name: prometheus, type: alertmanager, token: ` + amToken + `}
  - {name: datadog, type: datadog, token: ` + ddToken + `}
policies: policies/
users: users.yaml
notify:
  console: {}
` + main}
	for k, v := range files {
		all[k] = v
	}
	for name, body := range all {
		p := filepath.Join(dir, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(body), 0o644))
	}
	return filepath.Join(dir, "klaxon.yaml")
}

// routeTestOut runs `klaxon route test` on config with args.
func routeTestOut(t *testing.T, config string, args ...string) string {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(t.Context(), append([]string{"route", "test", "--config", config}, args...), &out, &errOut)
	require.NoError(t, err, errOut.String())
	return out.String()
}

// amBody is an Alertmanager body of one firing alert with labels.
func amBody(t *testing.T, labels map[string]string) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]any{"receiver": "klaxon", "status": "firing", "version": "4",
		"alerts": []any{map[string]any{"status": "firing", "labels": labels, "annotations": map[string]string{},
			"startsAt": "2026-11-23T23:26:07Z", "endsAt": "0001-01-01T00:00:00Z", "fingerprint": "f00d"}}})
	require.NoError(t, err)
	return b
}

var groupKeyRE = regexp.MustCompile(`(?m)^group key: (.+)$`)

// TestRouteTestGroupKeyOfALongLabel: an alert whose label value is over
// the 4 KiB bound. Serve cuts the value (marked "… [truncated]") before it
// routes and groups; route test routes the whole value, so it names
// another route and another group key than the incident serve opens.
func TestRouteTestGroupKeyOfALongLabel(t *testing.T) {
	config := truthConfig(t, `route:
  policy: default
  group_by: [alertname, service]
  routes:
    - matchers: ['service=~".*-prod"']
      policy: prod
`, map[string]string{
		"policies/default.yaml": "name: default\nsteps:\n  - targets: [user:alice]\n",
		"policies/prod.yaml":    "name: prod\nsteps:\n  - targets: [user:alice]\n",
		"users.yaml":            "users:\n  - {id: alice, name: Alice, phone: \"+15550100001\", notify: [{via: sms, after: 0s}]}\n",
	})
	service := strings.Repeat("checkout-", 500) + "prod" // 4,504 bytes
	base, _, _ := startServe(t, config)
	code, out := post(t, base+"/v1/ingest/alertmanager", amToken, "application/json",
		amBody(t, map[string]string{"alertname": "HighLatency", "service": service}))
	require.Equal(t, http.StatusOK, code, "%v", out)
	incs := listIncidents(t, base, "open")
	require.Len(t, incs, 1)

	said := routeTestOut(t, config, "--at", "2026-11-23T15:00:00Z", "integration=prometheus", "alertname=HighLatency", "service="+service)
	m := groupKeyRE.FindStringSubmatch(said)
	require.NotNil(t, m, said)
	require.Equal(t, incs[0].Group, m[1], "route test's group key is not the incident's group:\nroute test said:\n%.300s", said)
}

// TestRouteTestWalksAsServe: a step that reaches nobody (a user with no
// rule for the incident's urgency) makes serve page the next step at
// once, and a walk that reaches nobody pages the config's fallback;
// route test says the same: the next step at the same time, and the
// fallback's users.
func TestRouteTestWalksAsServe(t *testing.T) {
	alice := `  - {id: alice, name: Alice, phone: "+15550100001", notify: [{via: sms, after: 0s, urgency: high}]}` + "\n"
	for _, tt := range []struct {
		name, main, policy, other string
		paged                     string // whom serve pages first
		said                      string // what route test must say
	}{
		{"the next step at once", "", "\n  - targets: [user:bob]\n    escalate_after: 1h",
			`  - {id: bob, name: Bob, email: bob@example.com, notify: [{via: email, after: 0s}]}`, "bob", "step 2 at Mon 2026-11-23 15:00"},
		{"the fallback", "fallback: [carol]\n", "",
			`  - {id: carol, name: Carol, email: carol@example.com, notify: [{via: email, after: 0s}]}`, "carol", "user:carol: carol by email"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			config := truthConfig(t, "route:\n  policy: oncall\n"+tt.main, map[string]string{
				"policies/oncall.yaml": "name: oncall\nsteps:\n  - targets: [user:alice]\n    escalate_after: 1h" + tt.policy + "\n",
				"users.yaml":           "users:\n" + alice + tt.other + "\n",
			})
			base, s, _ := startServe(t, config)
			code, out := post(t, base+"/v1/ingest/alertmanager", amToken, "application/json",
				amBody(t, map[string]string{"alertname": "DiskFull", "service": "db", "severity": "warning"}))
			require.Equal(t, http.StatusOK, code, "%v", out)
			incs := listIncidents(t, base, "open")
			require.Len(t, incs, 1)
			waitFor(t, tt.paged+" paged", func() bool { return len(s.pagesFor(incs[0].ID)) > 0 })
			require.Equal(t, tt.paged, s.pagesFor(incs[0].ID)[0].user)

			said := routeTestOut(t, config, "--at", "2026-11-23T15:00:00Z", "integration=prometheus", "alertname=DiskFull", "service=db", "severity=warning")
			require.Contains(t, said, "user:alice: alice by nothing (no rule for this urgency)")
			require.Contains(t, said, tt.said, "route test said:\n%s", said)
		})
	}
}

var policyRE = regexp.MustCompile(`(?m)^policy: +(\S+)`)

// TestRouteTestSeverityAsServe: a Datadog alert states its severity
// apart from its labels (alert_type error: critical), so serve does not
// add its integration's severity label, which is only for alerts that
// came without one. route test --severity critical is that alert: it
// must not route it by the integration's severity label either.
func TestRouteTestSeverityAsServe(t *testing.T) {
	config := truthConfig(t, `route:
  policy: default
  routes:
    - matchers: ['severity="warning"']
      policy: quiet
`, map[string]string{
		"policies/default.yaml": "name: default\nsteps:\n  - targets: [user:alice]\n",
		"policies/quiet.yaml":   "name: quiet\nsteps:\n  - targets: [user:alice]\n",
		"users.yaml":            "users:\n  - {id: alice, name: Alice, phone: \"+15550100001\", notify: [{via: sms, after: 0s}]}\n",
	})
	rewrite(t, config, "{name: datadog, type: datadog, token: "+ddToken+"}", "{name: datadog, type: datadog, token: "+ddToken+", labels: {severity: warning}}")
	base, _, _ := startServe(t, config)
	code, out := post(t, base+"/v1/ingest/datadog", ddToken, "application/json", mustRead(t, "datadog-triggered.json"))
	require.Equal(t, http.StatusOK, code, "%v", out)
	incs := listIncidents(t, base, "open")
	require.Len(t, incs, 1)
	require.Equal(t, "default", incs[0].Policy.Name)

	said := routeTestOut(t, config, "--at", "2026-11-23T15:00:00Z", "--severity", "critical", "integration=datadog",
		"alertname=API p99 latency above 2s", "env=prod", "host=web-3", "service=checkout-api", "team=payments", "priority=P1")
	m := policyRE.FindStringSubmatch(said)
	require.NotNil(t, m, said)
	require.Equal(t, incs[0].Policy.Name, m[1], "route test's policy is not the incident's:\n%s", said)
	require.Contains(t, said, "urgency:   high")
}
