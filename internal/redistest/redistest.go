// Package redistest runs real redis-server processes for tests: a single
// server that a test can stop, restart and kill, and a Redis Cluster of
// masters without replicas.
//
// redis-server and redis-cli are looked up on PATH. They come with the
// Debian package redis-server, which `make test` installs when missing; a
// test that needs them fails, never skips, when they are not there.
package redistest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/internal/syncbuf"
)

const (
	startAttempts = 5                // a free port can be taken before redis-server binds it
	readyTimeout  = 10 * time.Second // for PING to answer PONG
	stopTimeout   = 10 * time.Second // for the process to exit after SIGTERM
)

// Server is a redis-server process on a loopback port.
type Server struct {
	bin  string
	port int
	dir  string
	args []string
	// conf, for a Sentinel, is its config file: Sentinel mode needs one,
	// and rewrites it.
	conf string

	mu      sync.Mutex
	proc    *process // nil while stopped
	lastLog string   // output of the last run, once stopped
}

// process is one run of redis-server.
type process struct {
	cmd    *exec.Cmd
	out    *syncbuf.Buffer
	exited chan struct{} // closed once cmd.Wait returned
}

// Start runs redis-server on a free loopback port with its working
// directory in t.TempDir(), and returns once it answers PING. Without
// --save or --appendonly among args it keeps nothing on disk (--save ""
// --appendonly no), and a replica's full sync starts at once
// (--repl-diskless-sync-delay 0). t.Cleanup stops it; its log is shown if the test
// failed.
func Start(t testing.TB, args ...string) *Server {
	t.Helper()
	s, err := start(t, lookPath(t, "redis-server"), t.TempDir(), func(int) []string { return args })
	if err != nil {
		t.Fatalf("redistest: %v", err)
	}
	return s
}

// start starts bin in dir with the args that argsFor returns for the port
// picked, retrying on another port when one was taken meanwhile. It may
// run on any goroutine.
func start(t testing.TB, bin, dir string, argsFor func(port int) []string) (*Server, error) {
	for attempt := 1; ; attempt++ {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		s := &Server{bin: bin, port: port, dir: dir, args: argsFor(port)}
		err = s.run()
		if err == nil {
			t.Cleanup(func() {
				s.stop(t, syscall.SIGTERM)
				if t.Failed() {
					t.Logf("redis-server at %s, log:\n%s", s.Addr(), s.log())
				}
			})
			return s, nil
		}
		if !errors.Is(err, errAddrInUse) || attempt == startAttempts {
			return nil, fmt.Errorf("start redis-server: %w", err)
		}
	}
}

// lookPath finds a program of the Debian package redis-server.
func lookPath(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("redistest: %s not found on PATH: run `make test`, which installs the Debian package redis-server (%v)", name, err)
	}
	return p
}

var errAddrInUse = errors.New("address already in use")

// run starts the process and waits until it answers PING.
func (s *Server) run() error {
	var args []string
	if s.conf != "" {
		args = []string{s.conf, "--sentinel"}
	}
	args = append(args, "--port", strconv.Itoa(s.port), "--bind", "127.0.0.1", "--dir", s.dir, "--daemonize", "no")
	if s.conf == "" && !hasOption(s.args, "--save") {
		args = append(args, "--save", "")
	}
	if s.conf == "" && !hasOption(s.args, "--appendonly") {
		args = append(args, "--appendonly", "no")
	}
	if s.conf == "" && !hasOption(s.args, "--repl-diskless-sync-delay") {
		// A replica's full sync starts at once, not 5 s later (the
		// default waits for more replicas to share it).
		args = append(args, "--repl-diskless-sync-delay", "0")
	}
	args = append(args, s.args...)
	out := &syncbuf.Buffer{}
	cmd := exec.Command(s.bin, args...)
	cmd.Dir = s.dir
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("run %s: %w", s.bin, err)
	}
	p := &process{cmd: cmd, out: out, exited: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(p.exited)
	}()
	if err := waitReady(s.Addr(), p.exited); err != nil {
		_ = cmd.Process.Kill()
		<-p.exited
		if strings.Contains(out.String(), "Address already in use") {
			return fmt.Errorf("listen on %s: %w", s.Addr(), errAddrInUse)
		}
		return fmt.Errorf("%w; redis-server log:\n%s", err, out)
	}
	s.mu.Lock()
	s.proc = p
	s.mu.Unlock()
	return nil
}

func hasOption(args []string, name string) bool {
	for _, a := range args {
		if a == name {
			return true
		}
	}
	return false
}

// Addr is the server's address, 127.0.0.1:<port>.
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// Dir is the server's working directory, where it keeps its files.
func (s *Server) Dir() string { return s.dir }

// Stop stops the server with SIGTERM, as a shutdown would, and waits for
// it to exit. Restart starts it again.
func (s *Server) Stop(t testing.TB) {
	t.Helper()
	s.stop(t, syscall.SIGTERM)
}

// Kill stops the server with SIGKILL, as a crash would: what was not
// written to disk yet is lost.
func (s *Server) Kill(t testing.TB) {
	t.Helper()
	s.stop(t, syscall.SIGKILL)
}

// Pause stops the running server with SIGSTOP, as a hung server: the
// kernel still takes connections and requests, and nothing answers them.
// Resume continues it; so does the test's cleanup.
func (s *Server) Pause(t testing.TB) {
	t.Helper()
	s.signal(t, syscall.SIGSTOP)
	t.Cleanup(func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.proc != nil {
			_ = s.proc.cmd.Process.Signal(syscall.SIGCONT)
		}
	})
}

// Resume continues a paused server.
func (s *Server) Resume(t testing.TB) {
	t.Helper()
	s.signal(t, syscall.SIGCONT)
}

func (s *Server) signal(t testing.TB, sig syscall.Signal) {
	t.Helper()
	s.mu.Lock()
	p := s.proc
	s.mu.Unlock()
	if p == nil {
		t.Fatalf("redistest: signal %s to %s: not running", sig, s.Addr())
	}
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("redistest: signal %s to %s: %v", sig, s.Addr(), err)
	}
}

// stop signals the process, if it runs, and waits for it to exit; after
// stopTimeout it kills it.
func (s *Server) stop(t testing.TB, sig syscall.Signal) {
	t.Helper()
	s.mu.Lock()
	p := s.proc
	s.proc = nil
	s.mu.Unlock()
	if p == nil {
		return
	}
	_ = p.cmd.Process.Signal(sig)
	select {
	case <-p.exited:
	case <-time.After(stopTimeout):
		_ = p.cmd.Process.Kill()
		<-p.exited
		t.Errorf("redistest: redis-server at %s did not exit within %s of %s", s.Addr(), stopTimeout, sig)
	}
	s.mu.Lock()
	s.lastLog = p.out.String()
	s.mu.Unlock()
}

// Restart starts a stopped server again on the same port, with the same
// directory and arguments, and waits until it answers PING.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	s.mu.Lock()
	running := s.proc != nil
	s.mu.Unlock()
	if running {
		t.Fatalf("redistest: restart %s: still running", s.Addr())
	}
	var err error
	for attempt := 1; attempt <= startAttempts; attempt++ {
		if err = s.run(); !errors.Is(err, errAddrInUse) {
			break
		}
		time.Sleep(100 * time.Millisecond) // the port may be held a moment longer
	}
	if err != nil {
		t.Fatalf("redistest: restart redis-server: %v", err)
	}
}

// log returns the output of the current run, or of the last one.
func (s *Server) log() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc != nil {
		return s.proc.out.String()
	}
	return s.lastLog
}

// waitReady sends PING to addr until it answers PONG, the process exits
// or readyTimeout passes. A server still loading its data answers
// -LOADING, and is waited for too.
func waitReady(addr string, exited <-chan struct{}) error {
	deadline := time.After(readyTimeout)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		reply, err := Do(addr, "PING")
		if err == nil && reply == "PONG" || err != nil && strings.Contains(err.Error(), "NOAUTH") {
			return nil // up; a server started with --requirepass wants AUTH first
		}
		select {
		case <-exited:
			return errors.New("redis-server exited before it answered PING")
		case <-deadline:
			return fmt.Errorf("redis-server at %s did not answer PING within %s (last: %q, %v)", addr, readyTimeout, reply, err)
		case <-tick.C:
		}
	}
}

// CPU is the CPU time redis-server used so far, user and system, as
// its INFO says: what a benchmark reports beside the client's own.
func (s *Server) CPU(t testing.TB) time.Duration {
	t.Helper()
	info, err := Do(s.Addr(), "INFO", "cpu")
	if err != nil {
		t.Fatalf("redistest: INFO cpu: %v", err)
	}
	var sum float64
	for line := range strings.Lines(info) {
		k, v, _ := strings.Cut(strings.TrimSpace(line), ":")
		if k == "used_cpu_sys" || k == "used_cpu_user" {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("redistest: INFO cpu: %s: %v", line, err)
			}
			sum += f
		}
	}
	return time.Duration(sum * float64(time.Second))
}

// Do sends one command to the server at addr on a new connection and
// returns its reply as text: a status, an integer or a bulk string as is,
// the elements of an array one a line, a nil as "". An error reply is
// returned as an error.
func Do(addr string, args ...string) (string, error) {
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	// Longer than any blocking command a test sends (WAIT with 15 s).
	if err := conn.SetDeadline(time.Now().Add(20 * time.Second)); err != nil {
		return "", err
	}
	var req bytes.Buffer
	fmt.Fprintf(&req, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&req, "$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := conn.Write(req.Bytes()); err != nil {
		return "", err
	}
	return readReply(bufio.NewReader(conn))
}

// readReply reads one RESP2 reply.
func readReply(r *bufio.Reader) (string, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return "", err
	}
	line = strings.TrimSuffix(line, "\r\n")
	if line == "" {
		return "", errors.New("empty reply")
	}
	switch line[0] {
	case '+', ':':
		return line[1:], nil
	case '-':
		return "", fmt.Errorf("redis: %s", line[1:])
	case '$':
		n, err := strconv.Atoi(line[1:])
		if err != nil || n < 0 {
			return "", err
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(r, buf); err != nil {
			return "", err
		}
		return string(buf[:n]), nil
	case '*':
		n, err := strconv.Atoi(line[1:])
		if err != nil || n < 0 {
			return "", err
		}
		elems := make([]string, n)
		for i := range elems {
			if elems[i], err = readReply(r); err != nil {
				return "", err
			}
		}
		return strings.Join(elems, "\n"), nil
	default:
		return "", fmt.Errorf("unexpected reply %q", line)
	}
}

// freePort returns a loopback port that was free just now.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pick a free port: %w", err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	if err := l.Close(); err != nil {
		return 0, fmt.Errorf("pick a free port: %w", err)
	}
	return port, nil
}

// StartReplica runs a replica of master, as Start runs a server (args
// after its --replicaof), and returns once it has loaded master's data
// and follows its writes (master_link_status:up).
func StartReplica(t testing.TB, master *Server, args ...string) *Server {
	t.Helper()
	r := Start(t, append([]string{"--replicaof", "127.0.0.1", strconv.Itoa(master.port)}, args...)...)
	waitFor(t, "replica "+r.Addr()+" of "+master.Addr()+" in sync", func() bool {
		info, err := Do(r.Addr(), "INFO", "replication")
		return err == nil && strings.Contains(info, "master_link_status:up")
	})
	return r
}

// waitFor polls ok until it holds, failing t after clusterTimeout.
func waitFor(t testing.TB, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(clusterTimeout); !ok(); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("redistest: %s: not after %s", what, clusterTimeout)
		}
	}
}
