package config

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon/internal/tlstest"
)

// testPair returns a certificate and its key, PEM.
func testPair(t *testing.T) (cert, key string) {
	p := tlstest.New(t)
	return string(p.CertPEM), string(p.KeyPEM)
}

func TestListen(t *testing.T) {
	cert, key := testPair(t)
	base := baseFiles["conf/klaxon.yaml"]
	tests := []struct {
		name      string
		yaml      string
		overrides map[string]any
		env       map[string]string
		want      func(dir string) []Listener
		publicURL string
	}{
		{
			name:      "one address",
			yaml:      "listen: 0.0.0.0:9000\n",
			want:      func(string) []Listener { return []Listener{{Address: "0.0.0.0:9000"}} },
			publicURL: "http://localhost:9000",
		},
		{
			name: "one address with the top-level tls",
			yaml: "listen: :8443\ntls: {cert_file: tls/cert.pem, key_file: tls/key.pem}\n",
			want: func(dir string) []Listener {
				return []Listener{{Address: ":8443", TLS: &TLS{CertFile: filepath.Join(dir, "tls/cert.pem"), KeyFile: filepath.Join(dir, "tls/key.pem")}}}
			},
			publicURL: "https://localhost:8443",
		},
		{
			name: "the default address with the top-level tls",
			yaml: "tls: {cert_file: tls/cert.pem, key_file: tls/key.pem}\n",
			want: func(dir string) []Listener {
				return []Listener{{Address: DefaultListen, TLS: &TLS{CertFile: filepath.Join(dir, "tls/cert.pem"), KeyFile: filepath.Join(dir, "tls/key.pem")}}}
			},
			publicURL: "https://127.0.0.1:8080",
		},
		{
			name: "a list: public_url from the listener that serves twilio",
			yaml: `listen:
  - {address: 127.0.0.1:9090, serve: [api, metrics, health]}
  - address: 0.0.0.0:8443
    tls: {cert_file: tls/cert.pem, key_file: tls/key.pem}
    serve: [ingest, twilio, ack]
`,
			want: func(dir string) []Listener {
				return []Listener{
					{Address: "127.0.0.1:9090", Serve: []string{"api", "metrics", "health"}},
					{Address: "0.0.0.0:8443", TLS: &TLS{CertFile: filepath.Join(dir, "tls/cert.pem"), KeyFile: filepath.Join(dir, "tls/key.pem")}, Serve: []string{"ingest", "twilio", "ack"}},
				}
			},
			publicURL: "https://localhost:8443",
		},
		{
			name: "port 0 twice is two free ports",
			yaml: "listen: [{address: \"127.0.0.1:0\"}, {address: \"127.0.0.1:0\", serve: [health]}]\n",
			want: func(string) []Listener {
				return []Listener{{Address: "127.0.0.1:0"}, {Address: "127.0.0.1:0", Serve: []string{"health"}}}
			},
			publicURL: "http://127.0.0.1:0",
		},
		{
			name:      "${VAR} in a listener",
			yaml:      "listen: [{address: \"${TEST_ADDR}\"}]\n",
			env:       map[string]string{"TEST_ADDR": "127.0.0.1:7000"},
			want:      func(string) []Listener { return []Listener{{Address: "127.0.0.1:7000"}} },
			publicURL: "http://127.0.0.1:7000",
		},
		{
			name:      "--listen replaces a list with one address",
			yaml:      "listen: [{address: \"127.0.0.1:9090\", serve: [api]}, {address: \"127.0.0.1:9091\"}]\n",
			overrides: map[string]any{"listen": "127.0.0.1:3333"},
			want:      func(string) []Listener { return []Listener{{Address: "127.0.0.1:3333"}} },
			publicURL: "http://127.0.0.1:3333",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			setup(t, map[string]string{"conf/klaxon.yaml": base + tt.yaml, "conf/tls/cert.pem": cert, "conf/tls/key.pem": key})
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			c, err := Load("conf/klaxon.yaml", tt.overrides)
			require.NoError(t, err)
			require.Equal(t, tt.want(c.Dir), c.Listen)
			require.Equal(t, tt.publicURL, c.PublicURL)
		})
	}
}

func TestListenErrors(t *testing.T) {
	cert, key := testPair(t)
	_, otherKey := testPair(t)
	base := baseFiles["conf/klaxon.yaml"]
	tests := []struct {
		name string
		yaml string
		want []string
	}{
		{
			name: "neither an address nor a list",
			yaml: "listen: {address: x}\n",
			want: []string{"conf/klaxon.yaml: listen: expected an address like 127.0.0.1:8080 or a list of listeners, got a map"},
		},
		{
			name: "an empty list",
			yaml: "listen: []\n",
			want: []string{"conf/klaxon.yaml: listen: empty: want an address like 127.0.0.1:8080 or at least one listener"},
		},
		{
			name: "a listener of the wrong type",
			yaml: "listen: [127.0.0.1:9000]\n",
			want: []string{"conf/klaxon.yaml: listen[0]: expected a map, got a string"},
		},
		{
			name: "unknown key in a listener",
			yaml: "listen: [{address: \"127.0.0.1:9000\", tsl: {}}]\n",
			want: []string{"conf/klaxon.yaml: listen[0].tsl: unknown key"},
		},
		{
			name: "addresses",
			yaml: "listen: [{address: \"127.0.0.1:9000\"}, {serve: [api]}, {address: nope}]\n",
			want: []string{
				"conf/klaxon.yaml: listen[1].address: required: host:port, like 127.0.0.1:8080",
				`conf/klaxon.yaml: listen[2].address: bad address "nope": want host:port, like 127.0.0.1:8080`,
			},
		},
		{
			name: "the short form names listen",
			yaml: "listen: nope\n",
			want: []string{`conf/klaxon.yaml: listen: bad address "nope": want host:port, like 127.0.0.1:8080`},
		},
		{
			name: "the same address twice",
			yaml: "listen: [{address: \"127.0.0.1:9000\"}, {address: \"127.0.0.1:9000\"}, {address: \":9000\"}, {address: \"127.0.0.1:9001\"}]\n",
			want: []string{
				"conf/klaxon.yaml: listen[1].address: 127.0.0.1:9000 is also the address of listen[0]",
				"conf/klaxon.yaml: listen[2].address: :9000 is also the address of listen[0]",
				"conf/klaxon.yaml: listen[2].address: :9000 is also the address of listen[1]",
			},
		},
		{
			name: "route groups",
			yaml: "listen: [{address: \"127.0.0.1:9000\", serve: [ingest, console]}, {address: \"127.0.0.1:9001\", serve: []}]\n",
			want: []string{
				`conf/klaxon.yaml: listen[0].serve[1]: unknown route group "console": want one of ingest, twilio, ack, api, feed, metrics, health, web, slack`,
				"conf/klaxon.yaml: listen[1].serve: empty: leave serve out to serve every route",
			},
		},
		{
			name: "tls files",
			yaml: `listen:
  - {address: "127.0.0.1:9000", tls: {cert_file: tls/cert.pem}}
  - {address: "127.0.0.1:9001", tls: {cert_file: tls/nope.pem, key_file: tls/key.pem}}
  - {address: "127.0.0.1:9002", tls: {cert_file: tls/cert.pem, key_file: tls/other.pem}}
`,
			want: []string{
				"conf/klaxon.yaml: listen[0].tls.key_file: required: a PEM file",
				"conf/klaxon.yaml: listen[1].tls.cert_file: conf/tls/nope.pem: no such file or directory",
				"conf/klaxon.yaml: listen[2].tls: load certificate and key: tls: private key does not match public key",
			},
		},
		{
			name: "twilio, and no listener serves its callbacks",
			yaml: twilio + "listen: [{address: \"0.0.0.0:9000\", serve: [ingest, ack]}, {address: \"127.0.0.1:9001\", serve: [api, health]}]\n",
			want: []string{"conf/klaxon.yaml: notify.twilio: no listener serves twilio, so Twilio could fetch no call's words (no voice page would be heard) and deliver no SMS reply, key press or delivery report: add twilio to the serve of the listener that public_url reaches"},
		},
		{
			name: "the top-level tls names tls",
			yaml: "tls: {key_file: tls/key.pem}\n",
			want: []string{"conf/klaxon.yaml: tls.cert_file: required: a PEM file"},
		},
		{
			name: "the top-level tls with a list",
			yaml: "listen: [{address: \"127.0.0.1:9000\"}]\ntls: {cert_file: tls/cert.pem, key_file: tls/key.pem}\n",
			want: []string{"conf/klaxon.yaml: tls: applies only to listen given as one address; with a list of listeners, give each its own tls"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			setup(t, map[string]string{"conf/klaxon.yaml": base + tt.yaml, "conf/tls/cert.pem": cert, "conf/tls/key.pem": key, "conf/tls/other.pem": otherKey})
			_, err := Load("conf/klaxon.yaml", nil)
			require.Equal(t, tt.want, lines(t, err))
		})
	}
}

// twilio is a notify.twilio that loads, to append to baseFiles' notify.
const twilio = "  twilio: {account_sid: AC0123456789abcdef0123456789abcdef, auth_token: 0123456789abcdef0123456789abcdef, from: \"+15550100000\"}\n"

// TestListenWarnings: klaxon check warns of /metrics served beyond the
// machine without its token, of a metrics token that is another token
// too, and of mail links or calendar feeds that no listener serves.
func TestListenWarnings(t *testing.T) {
	now := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
	base := baseFiles["conf/klaxon.yaml"]
	const smtp = "  smtp: {host: mail.example.com, from: k@example.com}\nsecret: 0123456789abcdef\n"
	tests := []struct {
		name string
		yaml string
		want []string
	}{
		{name: "the default listener, on loopback"},
		{name: "every route on loopback", yaml: "listen: [{address: \"127.0.0.1:9000\"}, {address: \"[::1]:9001\"}, {address: \"localhost:9002\"}]\n"},
		{
			name: "metrics beyond the machine",
			yaml: "listen: [{address: \"0.0.0.0:9000\", serve: [ingest]}, {address: \":9001\", serve: [metrics]}, {address: \"10.0.0.5:9002\"}, {address: \"127.0.0.1:9003\", serve: [metrics]}]\n",
			want: []string{
				"conf/klaxon.yaml: listen[1]: serves /metrics on :9001, beyond this machine, and api.metrics_token is unset: anyone who reaches it reads the metrics; set api.metrics_token, or serve metrics on a loopback listener only",
				"conf/klaxon.yaml: listen[2]: serves /metrics on 10.0.0.5:9002, beyond this machine, and api.metrics_token is unset: anyone who reaches it reads the metrics; set api.metrics_token, or serve metrics on a loopback listener only",
			},
		},
		{
			name: "one address beyond the machine",
			yaml: "listen: 0.0.0.0:8080\n",
			want: []string{"conf/klaxon.yaml: listen: serves /metrics on 0.0.0.0:8080, beyond this machine, and api.metrics_token is unset: anyone who reaches it reads the metrics; set api.metrics_token, or serve metrics on a loopback listener only"},
		},
		{name: "metrics beyond the machine, behind its token", yaml: "listen: 0.0.0.0:8080\napi: {metrics_token: metrics-token-0123}\n"},
		{
			name: "a metrics token that is an API token",
			yaml: "api: {metrics_token: shared-token-0123, tokens: [{name: ops, token: other-token-01234, scopes: [read]}, {name: bot, token: shared-token-0123, scopes: [read]}]}\n",
			want: []string{"conf/klaxon.yaml: api.metrics_token: same as the token of api.tokens[1]: a scraper's token, which sits in its config, should open /metrics and nothing else; give it one of its own"},
		},
		{
			name: "a metrics token that is a feed token",
			yaml: "api: {metrics_token: shared-token-0123, feed_tokens: [{name: cal, schedule: primary, token: shared-token-0123}]}\nschedules: schedules\n",
			want: []string{"conf/klaxon.yaml: api.metrics_token: same as the token of api.feed_tokens[0]: a scraper's token, which sits in its config, should open /metrics and nothing else; give it one of its own"},
		},
		{
			name: "a metrics token that is an integration's",
			yaml: "api: {metrics_token: prom-token-0123456789}\n",
			want: []string{"conf/klaxon.yaml: api.metrics_token: same as the token of integrations[0]: a scraper's token, which sits in its config, should open /metrics and nothing else; give it one of its own"},
		},
		{
			name: "mail, and no listener serves its links",
			yaml: smtp + "listen: [{address: \"127.0.0.1:9000\", serve: [ingest, twilio]}, {address: \"127.0.0.1:9001\", serve: [api]}]\n",
			want: []string{"conf/klaxon.yaml: notify.smtp: no listener serves ack, so the acknowledge and resolve links in mail pages answer 404: add ack to the serve of the listener that public_url reaches"},
		},
		{name: "mail, and a listener serves its links", yaml: smtp + "listen: [{address: \"127.0.0.1:9000\", serve: [ingest, ack]}]\n"},
		{name: "twilio, and a listener serves its callbacks", yaml: twilio + "listen: [{address: \"127.0.0.1:9000\", serve: [twilio]}]\n"},
		{
			name: "feed tokens, and no listener serves the feeds",
			yaml: "api: {feed_tokens: [{name: cal, schedule: primary, token: feed-token-012345}]}\nschedules: schedules\nlisten: [{address: \"127.0.0.1:9000\", serve: [api]}]\n",
			want: []string{"conf/klaxon.yaml: api.feed_tokens: no listener serves feed, so no calendar app can read a schedule's feed: add feed to a listener's serve (it was part of api before)"},
		},
		{
			name: "feed tokens, and a listener serves the feeds",
			yaml: "api: {feed_tokens: [{name: cal, schedule: primary, token: feed-token-012345}]}\nschedules: schedules\nlisten: [{address: \"127.0.0.1:9000\", serve: [api, feed]}]\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			setup(t, map[string]string{"conf/klaxon.yaml": base + tt.yaml, "conf/schedules/primary.yaml": primarySchedule})
			c, err := Load("conf/klaxon.yaml", nil)
			require.NoError(t, err)
			var got []string
			for _, w := range c.Warnings(now) {
				got = append(got, w.String())
			}
			require.Equal(t, tt.want, got)
		})
	}
}

// TestReloadLeavesTLSFiles: Reload does not read the listeners' TLS files,
// which Load checks: a pair caught halfway through a renewal, or a file
// moved away for a moment, refuses no reload. Their paths are still
// resolved, so that a reload that changes them is seen as a change.
func TestReloadLeavesTLSFiles(t *testing.T) {
	cert, _ := testPair(t)
	_, otherKey := testPair(t)
	setup(t, map[string]string{
		"conf/klaxon.yaml":  baseFiles["conf/klaxon.yaml"] + "listen: [{address: \"127.0.0.1:9000\", tls: {cert_file: tls/cert.pem, key_file: tls/key.pem}}, {address: \"127.0.0.1:9001\", tls: {cert_file: tls/cert.pem, key_file: tls/gone.pem}}]\n",
		"conf/tls/cert.pem": cert, "conf/tls/key.pem": otherKey,
	})
	_, err := Load("conf/klaxon.yaml", nil)
	require.Equal(t, []string{
		"conf/klaxon.yaml: listen[0].tls: load certificate and key: tls: private key does not match public key",
		"conf/klaxon.yaml: listen[1].tls.key_file: conf/tls/gone.pem: no such file or directory",
	}, lines(t, err))

	c, err := Reload("conf/klaxon.yaml", nil)
	require.NoError(t, err)
	abs, err := filepath.Abs("conf/tls")
	require.NoError(t, err)
	require.Equal(t, &TLS{CertFile: filepath.Join(abs, "cert.pem"), KeyFile: filepath.Join(abs, "key.pem")}, c.Listen[0].TLS)
	require.Equal(t, filepath.Join(abs, "gone.pem"), c.Listen[1].TLS.KeyFile)
}

// TestMetricsTokenWebToken: a metrics token that is a user's web token
// is warned of as one that is an API token is: the scraper's config
// would sign in to the console as the user.
func TestMetricsTokenWebToken(t *testing.T) {
	setup(t, map[string]string{
		"conf/klaxon.yaml": baseFiles["conf/klaxon.yaml"] + "api: {metrics_token: alice-web-token-0123}\n",
		"conf/users.yaml":  "users:\n  - {id: alice, phone: \"+15550100001\", web_token: alice-web-token-0123}\n",
	})
	c, err := Load("conf/klaxon.yaml", nil)
	require.NoError(t, err)
	var got []string
	for _, w := range c.Warnings(time.Now()) {
		got = append(got, w.String())
	}
	require.Equal(t, []string{"conf/klaxon.yaml: api.metrics_token: same as the web_token of user alice: a scraper's token, which sits in its config, should open /metrics and nothing else; give it one of its own"}, got)
}
