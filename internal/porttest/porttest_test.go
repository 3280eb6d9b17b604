package porttest

import (
	"errors"
	"net"
	"syscall"
	"testing"
)

// TestRefused: a connection to the address is refused, and no listener
// can take its port while the test runs.
func TestRefused(t *testing.T) {
	addr := Refused(t)
	_, err := net.Dial("tcp", addr)
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("dial %s: got %v, want connection refused", addr, err)
	}
	if l, err := net.Listen("tcp", addr); err == nil {
		l.Close()
		t.Fatalf("listen %s: the port was free to take", addr)
	}
}
