package redistest

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// StartSentinel runs a Redis Sentinel on a free loopback port that
// monitors master under name, with a quorum of one, and declares it down
// after downAfterMs milliseconds without an answer, so that a test can
// see a failover within seconds. Each of lines is a further line of its
// sentinel.conf ("requirepass s3cret", "sentinel auth-pass NAME PASS").
func StartSentinel(t testing.TB, master *Server, name string, downAfterMs int, lines ...string) *Server {
	t.Helper()
	dir := t.TempDir()
	conf := filepath.Join(dir, "sentinel.conf")
	body := fmt.Sprintf("sentinel monitor %[1]s 127.0.0.1 %[2]d 1\nsentinel down-after-milliseconds %[1]s %[3]d\nsentinel failover-timeout %[1]s %[4]d\n",
		name, master.port, downAfterMs, 4*downAfterMs)
	for _, l := range lines {
		body += l + "\n"
	}
	if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
		t.Fatalf("redistest: %v", err)
	}
	bin := lookPath(t, "redis-server")
	for attempt := 1; ; attempt++ {
		port, err := freePort()
		if err != nil {
			t.Fatalf("redistest: %v", err)
		}
		s := &Server{bin: bin, port: port, dir: dir, conf: conf}
		err = s.run()
		if err == nil {
			t.Cleanup(func() {
				s.Stop(t)
				if t.Failed() {
					t.Logf("sentinel at %s, log:\n%s", s.Addr(), s.log())
				}
			})
			return s
		}
		if attempt == startAttempts {
			t.Fatalf("redistest: start sentinel: %v", err)
		}
	}
}
