package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/klaxontest"
)

// built is the real binary, built once per run of the test binary by the
// first test that asks for it, and removed by TestMain.
var built struct {
	once     sync.Once
	dir, bin string
	err      error
}

// buildKlaxon returns the real binary, built on first use.
func buildKlaxon(t testing.TB) string {
	t.Helper()
	built.once.Do(func() {
		dir, err := os.MkdirTemp("", "klaxon-test-")
		if err != nil {
			built.err = err
			return
		}
		built.dir, built.bin = dir, filepath.Join(dir, "klaxon")
		if out, err := exec.Command("go", "build", "-o", built.bin, ".").CombinedOutput(); err != nil {
			built.err = fmt.Errorf("go build: %w: %s", err, out)
		}
	})
	require.NoError(t, built.err)
	return built.bin
}

func TestMain(m *testing.M) {
	code := m.Run()
	if built.dir != "" {
		_ = os.RemoveAll(built.dir)
	}
	os.Exit(code)
}

// proc is a running klaxon binary.
type proc struct {
	cmd  *exec.Cmd
	base string
	logs *logs
	done chan error
}

func startBinary(t testing.TB, bin, config string, args ...string) *proc {
	t.Helper()
	p := runBinary(t, bin, config, args...)
	p.listening(t, 20*time.Second)
	return p
}

// startBinaryAt is startBinary on a loopback address picked before
// klaxon starts, for a config whose public URL names it: at writes the
// address into the config. When another process takes the address
// before klaxon listens on it, another is picked and written.
func startBinaryAt(t *testing.T, bin, config string, at func(addr string), args ...string) *proc {
	t.Helper()
	for attempt := 1; ; attempt++ {
		at(klaxontest.FreeAddr(t))
		p := runBinary(t, bin, config, args...)
		select {
		case addr := <-p.logs.addr:
			p.base = "http://" + addr
			return p
		case err := <-p.done:
			if !strings.Contains(p.logs.String(), "address already in use") || attempt == 5 {
				t.Fatalf("klaxon exited: %v\n%s", err, p.logs)
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("klaxon did not start:\n%s", p.logs)
		}
	}
}

// runBinary runs klaxon serve with config and args, and returns at once;
// the test's end kills it if it still runs.
func runBinary(t testing.TB, bin, config string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"serve", "--config", config}, args...)...)
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	p := &proc{cmd: cmd, logs: newLogs(), done: make(chan error, 1)}
	go func() {
		_, _ = io.Copy(p.logs, bufio.NewReader(stderr))
		p.done <- cmd.Wait()
	}()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

// listening waits up to timeout for p to listen, and sets p.base.
func (p *proc) listening(t testing.TB, timeout time.Duration) {
	t.Helper()
	select {
	case addr := <-p.logs.addr:
		p.base = "http://" + addr
	case err := <-p.done:
		t.Fatalf("klaxon exited: %v\n%s", err, p.logs)
	case <-time.After(timeout):
		t.Fatalf("klaxon did not start:\n%s", p.logs)
	}
}

func (p *proc) signal(t testing.TB, sig syscall.Signal) error {
	t.Helper()
	require.NoError(t, p.cmd.Process.Signal(sig))
	select {
	case err := <-p.done:
		return err
	case <-time.After(20 * time.Second):
		t.Fatalf("klaxon did not exit on %v:\n%s", sig, p.logs)
		return nil
	}
}

// TestRestart kills the real binary, with SIGTERM and with kill -9, and
// starts it again on the same store: open incidents and pending steps are
// still there, and a pending step pages once, from the new process.
func TestRestart(t *testing.T) {
	bin := buildKlaxon(t)
	const after = 2 * time.Second
	config := writeConfig(t, after)

	// Each run takes a new port: a fixed one could be taken meanwhile.
	p := startBinary(t, bin, config)
	postFixture(t, p.base, "firing-two-alerts.json")
	id := findIncident(t, p.base, "HighErrorRate").ID
	waitFor(t, "step one pages alice", func() bool { return len(p.logs.pagesFor(id)) == 1 })

	require.NoError(t, p.signal(t, syscall.SIGTERM), "SIGTERM is a clean exit:\n%s", p.logs)
	require.Contains(t, p.logs.String(), "shutting down")

	p = startBinary(t, bin, config)
	inc := getIncident(t, p.base, id)
	require.Equal(t, klaxon.StateTriggered, inc.State)
	require.Len(t, inc.Alerts, 2)
	require.Equal(t, 0, inc.Escalation.Step, "step one already paged; it does not page again")

	// kill -9 before step two is due: it pages when due, from the new
	// process. (A step that fell due while Klaxon was down pages at once
	// when it starts: TestOverdueStepPagesAtStart, with a clock the test
	// moves, in internal/klaxontest.)
	err := p.signal(t, syscall.SIGKILL)
	require.Error(t, err)
	p = startBinary(t, bin, config)
	waitFor(t, "step two pages bob", func() bool { return len(p.logs.pagesFor(id)) == 1 && len(getIncident(t, p.base, id).Timeline) >= 6 })
	require.Equal(t, "bob", p.logs.pagesFor(id)[0].user)

	inc = getIncident(t, p.base, id)
	var pagedUsers []string
	for _, e := range inc.Timeline {
		if e.Kind == klaxon.EventPageSent {
			pagedUsers = append(pagedUsers, e.User)
		}
	}
	require.Equal(t, []string{"alice", "bob"}, pagedUsers, "each step paged once across the restarts")
	require.True(t, slices.Contains(eventKinds(inc), klaxon.EventAlertJoined))
}
