package redistest

import (
	"strings"
	"testing"
)

func TestServerRestart(t *testing.T) {
	s := Start(t, "--appendonly", "yes")
	set(t, s.Addr(), "k", "v")
	s.Stop(t)
	if _, err := Do(s.Addr(), "PING"); err == nil {
		t.Fatal("PING answered after Stop")
	}
	s.Restart(t)
	if got := get(t, s.Addr(), "k"); got != "v" {
		t.Fatalf("after restart: k = %q, want v (appendonly keeps it)", got)
	}
	s.Kill(t)
	s.Restart(t)
	if got := get(t, s.Addr(), "k"); got != "v" {
		t.Fatalf("after kill: k = %q, want v", got)
	}
}

func TestServerDefaultsKeepNothing(t *testing.T) {
	s := Start(t)
	for _, opt := range []struct{ name, want string }{{"save", ""}, {"appendonly", "no"}} {
		got, err := Do(s.Addr(), "CONFIG", "GET", opt.name)
		if err != nil {
			t.Fatalf("config get %s: %v", opt.name, err)
		}
		if got != opt.name+"\n"+opt.want {
			t.Errorf("%s = %q, want %q", opt.name, got, opt.want)
		}
	}
}

func TestCluster(t *testing.T) {
	c := StartCluster(t, 3)
	if len(c.Addrs()) != 3 {
		t.Fatalf("addrs: %v", c.Addrs())
	}
	for _, addr := range c.Addrs() {
		info, err := Do(addr, "CLUSTER", "INFO")
		if err != nil || !strings.Contains(info, "cluster_state:ok") {
			t.Fatalf("%s: %q, %v", addr, info, err)
		}
	}
}

func set(t *testing.T, addr, k, v string) {
	t.Helper()
	if _, err := Do(addr, "SET", k, v); err != nil {
		t.Fatalf("set %s: %v", k, err)
	}
}

func get(t *testing.T, addr, k string) string {
	t.Helper()
	v, err := Do(addr, "GET", k)
	if err != nil {
		t.Fatalf("get %s: %v", k, err)
	}
	return v
}
