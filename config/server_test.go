package config

import (
	"path/filepath"
	"testing"

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
				`conf/klaxon.yaml: listen[0].serve[1]: unknown route group "console": want one of ingest, twilio, ack, api, feed, metrics, health`,
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
