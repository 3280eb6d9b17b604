// Package amtest runs a real Prometheus Alertmanager for tests, with one
// webhook receiver, and fires and resolves alerts through amtool.
//
// The binaries are looked up on PATH and in the Go bin directory; when they
// are missing, Start installs them with `go install ...@v0.28.1` (the last
// release whose go install works), which takes a minute or two once.
package amtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/internal/syncbuf"
)

// Version is the Alertmanager release installed when none is found.
const Version = "v0.28.1"

const (
	startAttempts = 5                // a free port can be taken before Alertmanager binds it
	readyTimeout  = 30 * time.Second // for /-/ready
	amtoolTimeout = 30 * time.Second
)

// Alertmanager is a running Alertmanager process.
type Alertmanager struct {
	url    string
	amtool string
	stderr *syncbuf.Buffer
}

// Start runs an Alertmanager on a free loopback port that sends every alert
// to webhookURL (with "Authorization: Bearer <bearerToken>" when the token
// is not empty, and resolved alerts too), grouped by alertname and service
// with group_wait 100ms, group_interval 1s and repeat_interval 1h. It
// returns once Alertmanager is ready; t.Cleanup stops it. Alertmanager's
// log is shown if the test fails.
func Start(t testing.TB, webhookURL, bearerToken string) *Alertmanager {
	t.Helper()
	bins := binaries(t)
	dir := t.TempDir()
	configFile := filepath.Join(dir, "alertmanager.yml")
	if err := os.WriteFile(configFile, config(webhookURL, bearerToken), 0o600); err != nil {
		t.Fatalf("write alertmanager config: %v", err)
	}
	for attempt := 1; ; attempt++ {
		am, err := start(t, bins, configFile, filepath.Join(dir, "data"))
		if err == nil {
			return am
		}
		if !errors.Is(err, errAddrInUse) || attempt == startAttempts {
			t.Fatalf("start alertmanager: %v", err)
		}
	}
}

var errAddrInUse = errors.New("address already in use")

// start starts Alertmanager once on a port picked now, and waits until it
// is ready. It returns errAddrInUse when another process took the port.
func start(t testing.TB, bins binPaths, configFile, storage string) (*Alertmanager, error) {
	t.Helper()
	addr, err := freePort()
	if err != nil {
		return nil, err
	}
	stderr := &syncbuf.Buffer{}
	cmd := exec.Command(bins.alertmanager,
		"--config.file="+configFile,
		"--storage.path="+storage,
		"--web.listen-address="+addr,
		"--cluster.listen-address=", // no clustering
		"--log.level=debug",
	)
	cmd.Stdout = stderr
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("run %s: %w", bins.alertmanager, err)
	}
	exited := make(chan struct{})
	var waitErr error
	go func() {
		waitErr = cmd.Wait()
		close(exited)
	}()
	stop := func() {
		_ = cmd.Process.Kill()
		<-exited
	}

	url := "http://" + addr
	if err := waitReady(url, exited); err != nil {
		stop()
		if strings.Contains(stderr.String(), "address already in use") {
			return nil, fmt.Errorf("listen on %s: %w", addr, errAddrInUse)
		}
		if waitErr != nil {
			err = fmt.Errorf("%w (%v)", err, waitErr)
		}
		return nil, fmt.Errorf("%w; alertmanager output:\n%s", err, stderr)
	}
	t.Cleanup(func() {
		stop()
		if t.Failed() {
			t.Logf("alertmanager at %s, output:\n%s", url, stderr)
		}
	})
	return &Alertmanager{url: url, amtool: bins.amtool, stderr: stderr}, nil
}

// waitReady polls url/-/ready until it answers 200, the process exits or
// readyTimeout passes.
func waitReady(url string, exited <-chan struct{}) error {
	client := &http.Client{Timeout: time.Second}
	deadline := time.After(readyTimeout)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		resp, err := client.Get(url + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-exited:
			return errors.New("alertmanager exited before it was ready")
		case <-deadline:
			return fmt.Errorf("alertmanager not ready after %s", readyTimeout)
		case <-tick.C:
		}
	}
}

// freePort returns a loopback address with a port that was free just now.
func freePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("pick a free port: %w", err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		return "", fmt.Errorf("pick a free port: %w", err)
	}
	return addr, nil
}

// config is alertmanager.yml, written as JSON (a subset of YAML) so that
// any URL or token is quoted correctly.
func config(webhookURL, bearerToken string) []byte {
	webhook := map[string]any{"url": webhookURL, "send_resolved": true}
	if bearerToken != "" {
		webhook["http_config"] = map[string]any{
			"authorization": map[string]any{"type": "Bearer", "credentials": bearerToken},
		}
	}
	b, err := json.MarshalIndent(map[string]any{
		"route": map[string]any{
			"receiver":        "klaxon",
			"group_by":        []string{"alertname", "service"},
			"group_wait":      "100ms",
			"group_interval":  "1s",
			"repeat_interval": "1h",
		},
		"receivers": []any{map[string]any{
			"name":            "klaxon",
			"webhook_configs": []any{webhook},
		}},
	}, "", "  ")
	if err != nil {
		panic(err) // maps of strings always marshal
	}
	return b
}

// URL is Alertmanager's base URL, http://127.0.0.1:<port>.
func (am *Alertmanager) URL() string { return am.url }

// Fire sends a firing alert with labels and annotations through amtool.
func (am *Alertmanager) Fire(t testing.TB, labels, annotations map[string]string) {
	t.Helper()
	args := pairs(labels)
	for _, a := range pairs(annotations) {
		args = append(args, "--annotation="+a)
	}
	am.addAlert(t, args...)
}

// Resolve resolves the alert with exactly these labels through amtool, by
// sending it again with its end time set to now.
func (am *Alertmanager) Resolve(t testing.TB, labels map[string]string) {
	t.Helper()
	am.addAlert(t, append(pairs(labels), "--end="+time.Now().UTC().Format(time.RFC3339Nano))...)
}

// addAlert runs amtool alert add against am.
func (am *Alertmanager) addAlert(t testing.TB, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), amtoolTimeout)
	defer cancel()
	args = append([]string{"alert", "add", "--alertmanager.url=" + am.url, "--no-version-check"}, args...)
	out, err := exec.CommandContext(ctx, am.amtool, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("amtool %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// pairs renders a map as sorted name="value" arguments in the matcher
// syntax amtool parses.
func pairs(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, k+"="+strconv.Quote(m[k]))
	}
	return out
}

// Alert is an alert as Alertmanager's API takes it (POST /api/v2/alerts).
type Alert struct {
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations,omitempty"`
	GeneratorURL string            `json:"generatorURL,omitempty"`
}

// Post sends alerts to Alertmanager's API in one request, as Prometheus
// does: faster than amtool for many.
func (am *Alertmanager) Post(t testing.TB, alerts []Alert) {
	t.Helper()
	body, err := json.Marshal(alerts)
	if err != nil {
		t.Fatalf("encode alerts: %v", err)
	}
	resp, err := http.Post(am.url+"/api/v2/alerts", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatalf("post alerts: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("post alerts: %s: %s", resp.Status, b)
	}
}

// refusedRE finds, in Alertmanager's metrics, the notifications to the
// webhook that failed on a 4xx.
var refusedRE = regexp.MustCompile(`(?m)^alertmanager_notifications_failed_total\{integration="webhook",reason="clientError"\} (\S+)$`)

// Refused reads from Alertmanager's metrics how many notifications the
// webhook answered with a 4xx. Alertmanager does not retry those: every
// alert of such a notification is lost to the receiver.
func (am *Alertmanager) Refused(t testing.TB) int {
	t.Helper()
	resp, err := http.Get(am.url + "/metrics")
	if err != nil {
		t.Fatalf("read metrics: %v", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read metrics: %v", err)
	}
	m := refusedRE.FindSubmatch(b)
	if m == nil {
		return 0
	}
	n, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil {
		t.Fatalf("read metrics: %v", err)
	}
	return int(n)
}
