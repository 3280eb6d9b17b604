package main

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon/internal/tlstest"
)

// twoListeners is the listen of a config with a public TLS listener that
// takes webhooks only and a private plain one for the API.
const twoListeners = `listen:
  - address: 127.0.0.1:0
    tls: {cert_file: tls/cert.pem, key_file: tls/key.pem}
    serve: [ingest]
  - address: 127.0.0.1:0
    serve: [api, health]
`

var listenerRE = regexp.MustCompile(`msg="klaxon listening" addr=(\S+) tls=(\S+) serve=(\S+)`)

// listening waits for n "klaxon listening" lines and returns them, in the
// order of listen.
func listening(t *testing.T, l fmt.Stringer, n int) [][]string {
	t.Helper()
	waitFor(t, fmt.Sprintf("%d listeners", n), func() bool { return len(listenerRE.FindAllStringSubmatch(l.String(), -1)) >= n })
	return listenerRE.FindAllStringSubmatch(l.String(), -1)
}

// do sends a request with a bearer token and returns the status and body.
func do(t *testing.T, c *http.Client, method, url, token string, body []byte) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

func TestTwoListeners(t *testing.T) {
	cfg := writeConfig(t, time.Hour)
	dir := filepath.Dir(cfg)
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "tls"), 0o755))
	pair := tlstest.New(t)
	pair.Write(t, filepath.Join(dir, "tls", "cert.pem"), filepath.Join(dir, "tls", "key.pem"))
	rewrite(t, cfg, "listen: 127.0.0.1:0\n", twoListeners)

	_, l, stop := startServe(t, cfg, "--read-timeout", "500ms")
	lines := listening(t, l, 2)
	require.Equal(t, []string{"true", "ingest"}, lines[0][2:])
	require.Equal(t, []string{"false", "api,health"}, lines[1][2:])
	public, private := "https://"+lines[0][1], "http://"+lines[1][1]
	tlsClient := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pair.Roots()}}}
	alerts, err := readTestdata("firing-one-alert.json")
	require.NoError(t, err)

	// Webhooks over TLS, on the public listener.
	code, body := do(t, tlsClient, "POST", public+"/v1/ingest/alertmanager", amToken, alerts)
	require.Equal(t, http.StatusOK, code, body)

	// The API is not there, as if it did not exist...
	code, body = do(t, tlsClient, "GET", public+"/v1/incidents", apiToken, nil)
	require.Equal(t, http.StatusNotFound, code)
	var e struct{ Error string }
	require.NoError(t, json.Unmarshal([]byte(body), &e))
	require.Equal(t, "no such endpoint: GET /v1/incidents", e.Error)
	code, _ = do(t, tlsClient, "GET", public+"/healthz", "", nil)
	require.Equal(t, http.StatusNotFound, code)

	// ...but on the private listener, which takes no webhooks.
	require.Len(t, listIncidents(t, private, "all"), 1)
	code, _ = do(t, http.DefaultClient, "POST", private+"/v1/ingest/alertmanager", amToken, alerts)
	require.Equal(t, http.StatusNotFound, code)
	code, _ = do(t, http.DefaultClient, "GET", private+"/metrics", "", nil)
	require.Equal(t, http.StatusNotFound, code)

	// Every listener has the limits: a silent client of the private one
	// is cut off after --read-timeout.
	c, err := net.Dial("tcp", lines[1][1])
	require.NoError(t, err)
	defer c.Close()
	_, err = fmt.Fprintf(c, "POST /v1/incidents/x/ack HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")
	require.NoError(t, err)
	require.NoError(t, c.SetReadDeadline(time.Now().Add(10*time.Second)))
	_, err = io.ReadAll(c)
	require.NoError(t, err, "the connection was left open")

	// Shutdown stops both.
	stop()
	for _, addr := range []string{lines[0][1], lines[1][1]} {
		_, err := net.Dial("tcp", addr)
		require.Error(t, err, addr)
	}
}

// TestReloadRefusesListenChange: a reload that changes listen is refused
// whole: nothing of it applies, and both listeners go on serving what
// they served, as they served it. Once listen is put back, the reload
// goes through, and so does a later one.
func TestReloadRefusesListenChange(t *testing.T) {
	cfg := writeScheduleConfig(t, time.Hour)
	dir := filepath.Dir(cfg)
	schedule := filepath.Join(dir, "schedules", "primary.yaml")
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "tls"), 0o755))
	pair := tlstest.New(t)
	pair.Write(t, filepath.Join(dir, "tls", "cert.pem"), filepath.Join(dir, "tls", "key.pem"))
	rewrite(t, cfg, "listen: 127.0.0.1:0\n", twoListeners)
	_, logs, _ := startServe(t, cfg)
	lines := listening(t, logs, 2)
	public, private := "https://"+lines[0][1], "http://"+lines[1][1]
	tlsClient := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pair.Roots()}}}
	alerts, err := readTestdata("firing-one-alert.json")
	require.NoError(t, err)
	// serving checks that each listener serves its route groups, and
	// only those, as it did at the start.
	serving := func(when string) {
		t.Helper()
		code, body := do(t, tlsClient, "POST", public+"/v1/ingest/alertmanager", amToken, alerts)
		require.Equal(t, http.StatusOK, code, "%s: the public listener takes webhooks: %s", when, body)
		code, _ = do(t, tlsClient, "GET", public+"/v1/incidents", apiToken, nil)
		require.Equal(t, http.StatusNotFound, code, "%s: the public listener serves no API", when)
		code, _ = do(t, http.DefaultClient, "GET", private+"/v1/incidents", apiToken, nil)
		require.Equal(t, http.StatusOK, code, "%s: the private listener serves the API", when)
		code, _ = do(t, http.DefaultClient, "POST", private+"/v1/ingest/alertmanager", amToken, alerts)
		require.Equal(t, http.StatusNotFound, code, "%s: the private listener takes no webhooks", when)
	}
	serving("at the start")
	require.Equal(t, []string{"alice"}, onCallAt(t, private))

	// listen first, so that any reload sees it changed: the groups of
	// the two listeners swapped, and a schedule change with them.
	swapped := strings.NewReplacer("serve: [ingest]", "serve: [api, health]", "serve: [api, health]", "serve: [ingest]").Replace(twoListeners)
	rewrite(t, cfg, twoListeners, swapped)
	rewrite(t, schedule, "members: [alice, bob]", "members: [bob, alice]")
	waitFor(t, "the refusal is logged", func() bool { return strings.Contains(logs.String(), "reload refused") })
	require.Contains(t, logs.String(), "listen changed: its addresses, tls files and route groups change only at a restart")
	require.Equal(t, []string{"alice"}, onCallAt(t, private), "nothing of the refused config applies")
	serving("after the refused reload")

	// Put back, listen lets the schedule change through.
	rewrite(t, cfg, swapped, twoListeners)
	waitFor(t, "the schedule change is live", func() bool { return slicesEqual(onCallAt(t, private), []string{"bob"}) })
	serving("after listen was put back")

	// And a later reload goes through too.
	rewrite(t, schedule, "members: [bob, alice]", "members: [alice, bob]")
	waitFor(t, "a later change is live", func() bool { return slicesEqual(onCallAt(t, private), []string{"alice"}) })
	serving("after a later reload")
}

// TestReloadDuringRenewal: a config reload that comes while a certificate
// renewal is halfway (the new certificate written, not yet its key) goes
// through, and the TLS listener keeps serving its last good pair.
func TestReloadDuringRenewal(t *testing.T) {
	cfg := writeScheduleConfig(t, time.Hour)
	dir := filepath.Dir(cfg)
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "tls"), 0o755))
	certFile := filepath.Join(dir, "tls", "cert.pem")
	old := tlstest.New(t)
	old.Write(t, certFile, filepath.Join(dir, "tls", "key.pem"))
	rewrite(t, cfg, "listen: 127.0.0.1:0\n", twoListeners)
	_, l, _ := startServe(t, cfg)
	lines := listening(t, l, 2)
	public, private := lines[0][1], "http://"+lines[1][1]
	require.Equal(t, []string{"alice"}, onCallAt(t, private))

	tlstest.Replace(t, certFile, tlstest.New(t).CertPEM) // its key not written yet
	rewrite(t, filepath.Join(dir, "schedules", "primary.yaml"), "members: [alice, bob]", "members: [bob, alice]")
	waitFor(t, "the schedule change is live", func() bool { return slicesEqual(onCallAt(t, private), []string{"bob"}) })
	require.NotContains(t, l.String(), "reload refused")

	c, err := tls.Dial("tcp", public, &tls.Config{RootCAs: old.Roots(), ServerName: "localhost"})
	require.NoError(t, err, "the last good pair serves")
	require.NoError(t, c.Close())
}
