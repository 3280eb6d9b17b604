// Package porttest gives tests a loopback address where a connection is
// refused, for as long as the test runs.
package porttest

import (
	"net"
	"strconv"
	"syscall"
	"testing"
)

// Refused returns a loopback host:port that refuses connections until t
// ends: a TCP socket bound to it, never listening, keeps it. A port
// taken by a listener and closed again ("nothing listens there now")
// may be taken meanwhile by a server another test starts, which the
// test would then reach.
func Refused(t testing.TB) string {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatalf("socket: %v", err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatalf("bind: %v", err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatalf("getsockname: %v", err)
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(sa.(*syscall.SockaddrInet4).Port))
}
