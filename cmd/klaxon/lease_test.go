//go:build linux

package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/api"
	"github.com/klaxonhq/klaxon/internal/redistest"
)

// heldProc is a klaxon binary whose stderr the test can stop reading.
// Once the pipe is full, the process blocks in its next log line. The
// console channel sends a page by logging it, so a full pipe is a page
// that hangs while it is being sent, with its timer's claim held: what a
// replica stuck on a slow SMS provider, or frozen, looks like from outside.
type heldProc struct {
	*proc
	r, w   *os.File
	pause  chan chan struct{}
	resume chan struct{}
	quit   chan struct{}
	filled chan struct{} // closed once the filler is all in the pipe
}

// fGetPipeSz is Linux's F_GETPIPE_SZ fcntl: the capacity of a pipe.
const fGetPipeSz = 1032

func startHeld(t *testing.T, bin, config string, args ...string) *heldProc {
	t.Helper()
	r, w, err := os.Pipe()
	require.NoError(t, err)
	cmd := exec.Command(bin, append([]string{"serve", "--config", config}, args...)...)
	cmd.Stderr = w
	require.NoError(t, cmd.Start())
	h := &heldProc{proc: &proc{cmd: cmd, logs: newLogs(), done: make(chan error, 1)},
		r: r, w: w, pause: make(chan chan struct{}), resume: make(chan struct{}), quit: make(chan struct{}), filled: make(chan struct{})}
	go func() { h.done <- cmd.Wait() }()
	readerDone := make(chan struct{})
	go h.read(readerDone)
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			<-h.done
		}
		close(h.quit)
		<-readerDone
		_ = r.Close()
		_ = w.Close()
	})
	select {
	case addr := <-h.logs.addr:
		h.base = "http://" + addr
	case err := <-h.done:
		t.Fatalf("klaxon exited: %v\n%s", err, h.logs)
	case <-time.After(20 * time.Second):
		t.Fatalf("klaxon did not start:\n%s", h.logs)
	}
	return h
}

// read copies the pipe into the logs until quit, and stops reading while
// paused. Reads time out often, so that a pause never waits on one.
func (h *heldProc) read(done chan<- struct{}) {
	defer close(done)
	buf := make([]byte, 32<<10)
	for {
		select {
		case ack := <-h.pause:
			close(ack)
			select {
			case <-h.resume:
			case <-h.quit:
				return
			}
		case <-h.quit:
			return
		default:
		}
		_ = h.r.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
		n, err := h.r.Read(buf)
		_, _ = h.logs.Write(buf[:n])
		if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
			return
		}
	}
}

// block stops reading the process's stderr and fills the pipe, so that
// the next line the process logs blocks it.
func (h *heldProc) block(t *testing.T) {
	t.Helper()
	ack := make(chan struct{})
	h.pause <- ack
	<-ack
	size, _, errno := syscall.Syscall(syscall.SYS_FCNTL, h.w.Fd(), fGetPipeSz, 0)
	require.Zero(t, errno, "F_GETPIPE_SZ")
	// Twice the capacity: the filler itself blocks once the pipe is full,
	// and finishes when the pipe is read again.
	filler := bytes.Repeat([]byte(strings.Repeat("#", 63)+"\n"), int(2*size)/64)
	go func() {
		defer close(h.filled)
		_, _ = h.w.Write(filler)
	}()
	waitWithin(t, "the stderr pipe is full", 5*time.Second, func() bool {
		n, err := ioctlInt(h.r, syscall.TIOCINQ)
		require.NoError(t, err)
		return n >= int(size)
	})
}

// unblock reads the pipe again.
func (h *heldProc) unblock() { h.resume <- struct{}{} }

// ioctlInt reads an int with ioctl req on f: with TIOCINQ (FIONREAD), the
// bytes a pipe holds.
// It goes through SyscallConn, since f.Fd would make f blocking and so
// read deadlines void.
func ioctlInt(f *os.File, req uintptr) (int, error) {
	sc, err := f.SyscallConn()
	if err != nil {
		return 0, err
	}
	var n int32
	var errno syscall.Errno
	if err := sc.Control(func(fd uintptr) {
		_, _, errno = syscall.Syscall(syscall.SYS_IOCTL, fd, req, uintptr(unsafe.Pointer(&n)))
	}); err != nil {
		return 0, err
	}
	if errno != 0 {
		return 0, errno
	}
	return int(n), nil
}

// leaseEnd returns when the lease on incident id's timer ends, from the
// Redis store's lease hashes (T:tl, "<end µs> <claim token>"), and false
// while no lease is held on it.
func leaseEnd(t *testing.T, addr, id string) (time.Time, bool) {
	t.Helper()
	end, token := leaseHolder(t, addr, id)
	return end, token != ""
}

// leaseHolder returns when the lease on incident id's timer ends and the
// token of the claim that holds it; "" while no lease is held on it.
func leaseHolder(t *testing.T, addr, id string) (time.Time, string) {
	t.Helper()
	keys, err := redistest.Do(addr, "KEYS", "*:tl")
	require.NoError(t, err)
	for key := range strings.Lines(keys) {
		v, err := redistest.Do(addr, "HGET", strings.TrimSpace(key), id)
		require.NoError(t, err)
		if end, token, ok := strings.Cut(v, " "); ok {
			us, err := strconv.ParseInt(end, 10, 64)
			require.NoError(t, err)
			return time.UnixMicro(us), token
		}
	}
	return time.Time{}, ""
}

// claimHeld starts replica A alone on a new Redis and has it claim the
// first step of a new incident and hang while it pages alice, its stderr
// full. It returns A, the incident, when A's lease ends, and a function
// that starts another replica on the same Redis.
func claimHeld(t *testing.T, lease, escalateAfter time.Duration, aOnly []string, flags ...string) (a *heldProc, id string, claimEnds time.Time, replica func() *proc, redisAddr string) {
	t.Helper()
	bin := buildKlaxon(t)
	redis := redistest.Start(t, "--appendonly", "yes")
	config := writeConfig(t, escalateAfter)
	useRedis(t, config, redis.Addr())
	leaseFlag := append([]string{"--engine-lease", lease.String()}, flags...)

	a = startHeld(t, bin, config, append(slices.Clone(leaseFlag), aOnly...)...)
	a.block(t)
	postFixture(t, a.base, "firing-two-alerts.json") // ingest logs nothing: it is answered
	id = findIncident(t, a.base, "HighErrorRate").ID

	// A claims the new incident's timer, commits the page to alice as
	// pending, and hangs logging it.
	waitWithin(t, "A claims the first step and hangs paging alice", 10*time.Second, func() bool {
		end, held := leaseEnd(t, redis.Addr(), id)
		inc := getIncident(t, a.base, id)
		claimEnds = end
		return held && len(inc.Pending) == 1 && inc.Pending[0].User == "alice" && inc.Escalation.Step == 0
	})
	require.Empty(t, pagesSent(getIncident(t, a.base, id)))
	return a, id, claimEnds, func() *proc { return startBinary(t, bin, config, leaseFlag...) }, redis.Addr()
}

// pagedUsers lists the users of an incident's console pages in l.
func pagedUsers(l *logs, id string) []string {
	var users []string
	for _, p := range l.pagesFor(id) {
		users = append(users, p.user)
	}
	return users
}

// TestLeaseKill9 kills -9 the replica that holds the claim on a step while
// it sends the step's page, and the other replica pages that step once
// the claim's lease ends: a crash delays a page by at most the lease and
// never loses it. Replica A runs alone until it has claimed the first
// step's timer and hangs in the page (its stderr, where the console
// channel pages, is full); B starts; A is killed; B pages the step once,
// not before A's lease ends, and the next step on time.
func TestLeaseKill9(t *testing.T) {
	const lease, escalateAfter = 2 * time.Second, 4 * time.Second
	a, id, claimEnds, replica, _ := claimHeld(t, lease, escalateAfter, nil)

	b := replica()
	if time.Until(claimEnds) > 200*time.Millisecond {
		require.Empty(t, b.logs.pagesFor(id), "B waits for A's lease")
	}
	require.NoError(t, a.cmd.Process.Kill())
	require.Error(t, <-a.done, "kill -9")
	killed := time.Now()

	waitWithin(t, "B pages alice once A's lease has ended", lease+10*time.Second, func() bool {
		return len(b.logs.pagesFor(id)) == 1
	})
	require.Equal(t, "alice", b.logs.pagesFor(id)[0].user)
	var inc *api.IncidentView
	waitWithin(t, "B records the page", 5*time.Second, func() bool {
		inc = getIncident(t, b.base, id)
		return len(pagesSent(inc)) == 1
	})
	for _, e := range inc.Timeline {
		if e.Kind == klaxon.EventPageSent {
			require.False(t, e.At.Before(claimEnds), "B paged at %s, before A's lease ended at %s", e.At, claimEnds)
			t.Logf("A killed %s before its lease ended; B paged %s after it ended", claimEnds.Sub(killed).Round(time.Millisecond), e.At.Sub(claimEnds).Round(time.Millisecond))
		}
	}

	waitWithin(t, "B pages the second step, bob, on time", escalateAfter+10*time.Second, func() bool {
		return len(pagesSent(getIncident(t, b.base, id))) == 2
	})
	require.Equal(t, []string{"alice", "bob"}, pagesSent(getIncident(t, b.base, id)), "each step paged once on the timeline")
	require.Equal(t, []string{"alice", "bob"}, pagedUsers(b.logs, id), "each step paged once, by B")

	// A died with its page to alice unwritten: drain its pipe to be sure.
	a.unblock()
	<-a.filled
	waitWithin(t, "A's stderr is drained", 5*time.Second, func() bool {
		n, err := ioctlInt(a.r, syscall.TIOCINQ)
		require.NoError(t, err)
		return n == 0
	})
	require.Empty(t, a.logs.pages(), "A never completed a page:\n%s", a.logs)
}

// TestLeaseStalledReplica is the price of a lease: a replica that stalls
// in the middle of a page for longer than its page timeout (a provider
// that hangs, a frozen VM) is taken over once it stops renewing its claim,
// and when it comes back it finishes the page it had begun. The step
// pages twice, once late: at most one repeated page, never a missed one.
// Until the page timeout, the live replica keeps its claim: the other
// does not page.
func TestLeaseStalledReplica(t *testing.T) {
	const lease, escalateAfter, pageTimeout = 1 * time.Second, 6 * time.Second, 3 * time.Second
	// A claims only when something wakes it, so that B, polling, takes
	// the incident as soon as A's claim lapses.
	a, id, claimEnds, replica, redisAddr := claimHeld(t, lease, escalateAfter, []string{"--engine-poll", "1h"}, "--page-timeout", pageTimeout.String())
	_, holder := leaseHolder(t, redisAddr, id)

	b := replica()
	// A renews its claim while its page hangs, up to the page timeout:
	// its lease outlasts the first one by more than a lease, under the
	// same token, so B cannot have taken the step meanwhile.
	waitWithin(t, "A renews its claim while its page hangs", 10*time.Second, func() bool {
		end, token := leaseHolder(t, redisAddr, id)
		require.Equal(t, holder, token, "the claim changed hands while A renewed it")
		return end.After(claimEnds.Add(lease))
	})
	require.Empty(t, b.logs.pagesFor(id), "B paged while A held the claim")
	waitWithin(t, "B pages alice once A's lease has ended", lease+10*time.Second, func() bool {
		return len(pagesSent(getIncident(t, b.base, id))) == 1
	})
	waitWithin(t, "B's console shows the page", 5*time.Second, func() bool { return len(pagedUsers(b.logs, id)) == 1 })
	require.Equal(t, []string{"alice"}, pagedUsers(b.logs, id))
	a.unblock() // A comes back and finishes its page, late
	waitWithin(t, "the second step pages bob", escalateAfter+10*time.Second, func() bool {
		return slices.Contains(pagesSent(getIncident(t, b.base, id)), "bob")
	})
	var paged []string
	waitWithin(t, "the consoles show A's late page and bob's", 5*time.Second, func() bool {
		paged = append(pagedUsers(a.logs, id), pagedUsers(b.logs, id)...)
		return len(paged) >= 3
	})
	require.Contains(t, pagedUsers(a.logs, id), "alice", "A's late page is the repeat")
	slices.Sort(paged)
	require.Equal(t, []string{"alice", "alice", "bob"}, paged, "alice once more, late; bob once")

	// The timeline records both of alice's pages, as she got both: A
	// records what it sent even after its lease ended.
	var sent []string
	waitWithin(t, "A's late page is on the timeline", 10*time.Second, func() bool {
		sent = pagesSent(getIncident(t, b.base, id))
		return len(sent) == 3
	})
	slices.Sort(sent)
	require.Equal(t, []string{"alice", "alice", "bob"}, sent, "alice twice, bob once")
	t.Logf("pages sent on the timeline: %v", sent)
}
