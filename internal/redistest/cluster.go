package redistest

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// clusterTimeout bounds the wait for a new cluster to agree on its slots.
const clusterTimeout = 30 * time.Second

// Cluster is a Redis Cluster of masters without replicas, each its own
// redis-server process.
type Cluster struct {
	nodes []*Server
}

// StartCluster runs a Redis Cluster of masters (at least 3, as redis-cli
// requires) and no replicas, with the 16384 slots spread evenly, and
// returns once every node reports cluster_state:ok. t.Cleanup stops the
// nodes.
func StartCluster(t testing.TB, masters int) *Cluster {
	t.Helper()
	if masters < 3 {
		t.Fatalf("redistest: a cluster needs at least 3 masters, not %d", masters)
	}
	bin, cli := lookPath(t, "redis-server"), lookPath(t, "redis-cli")
	c := &Cluster{nodes: make([]*Server, masters)}
	errs := make([]error, masters)
	var wg sync.WaitGroup
	for i := range masters {
		dir := t.TempDir()
		wg.Go(func() {
			c.nodes[i], errs[i] = start(t, bin, dir, func(port int) []string {
				return []string{
					"--cluster-enabled", "yes",
					"--cluster-config-file", fmt.Sprintf("nodes-%d.conf", port),
					"--cluster-node-timeout", "5000",
				}
			})
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("redistest: start cluster: %v", err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), clusterTimeout)
	defer cancel()
	args := append([]string{"--cluster", "create"}, c.Addrs()...)
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	if out, err := exec.CommandContext(ctx, cli, args...).CombinedOutput(); err != nil {
		t.Fatalf("redistest: redis-cli %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	if err := c.waitOK(ctx); err != nil {
		t.Fatalf("redistest: %v", err)
	}
	return c
}

// waitOK polls CLUSTER INFO on every node until each says
// cluster_state:ok with all 16384 slots assigned and every node known.
func (c *Cluster) waitOK(ctx context.Context) error {
	want := []string{
		"cluster_state:ok",
		"cluster_slots_ok:16384",
		"cluster_known_nodes:" + strconv.Itoa(len(c.nodes)),
	}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		var last string
		ok := true
		for _, n := range c.nodes {
			info, err := Do(n.Addr(), "CLUSTER", "INFO")
			if err != nil {
				ok, last = false, err.Error()
				break
			}
			if !hasLines(info, want) {
				ok, last = false, n.Addr()+": "+info
				break
			}
		}
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("cluster not ok: %w; last CLUSTER INFO: %s", ctx.Err(), last)
		case <-tick.C:
		}
	}
}

// hasLines reports whether info has every line of want.
func hasLines(info string, want []string) bool {
	lines := strings.Split(strings.ReplaceAll(info, "\r\n", "\n"), "\n")
	for _, w := range want {
		found := false
		for _, l := range lines {
			if l == w {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// Addrs are the addresses of the masters.
func (c *Cluster) Addrs() []string {
	out := make([]string, len(c.nodes))
	for i, n := range c.nodes {
		out[i] = n.Addr()
	}
	return out
}

// Nodes are the masters, to stop or restart one.
func (c *Cluster) Nodes() []*Server { return c.nodes }

// StartClusterWithReplicas runs a Redis Cluster of 3 masters, each with
// one replica (replicas[i] is masters[i]'s), and returns once each
// replica is in sync and every node knows every other, so that a
// replica's takeover is heard and it serves its slots. t.Cleanup stops
// the nodes.
func StartClusterWithReplicas(t testing.TB) (masters, replicas []*Server) {
	t.Helper()
	masters = StartCluster(t, 3).Nodes()
	for _, m := range masters {
		id, err := Do(m.Addr(), "CLUSTER", "MYID")
		if err != nil {
			t.Fatalf("redistest: %v", err)
		}
		r := Start(t, "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "5000")
		host, port, _ := strings.Cut(m.Addr(), ":")
		if _, err := Do(r.Addr(), "CLUSTER", "MEET", host, port); err != nil {
			t.Fatalf("redistest: %v", err)
		}
		waitFor(t, r.Addr()+" replicates "+m.Addr(), func() bool {
			_, err := Do(r.Addr(), "CLUSTER", "REPLICATE", id)
			return err == nil
		})
		waitFor(t, m.Addr()+"'s replica in sync", func() bool {
			reply, err := Do(m.Addr(), "WAIT", "1", "100")
			return err == nil && reply == "1"
		})
		replicas = append(replicas, r)
	}
	for _, n := range append(slices.Clone(masters), replicas...) {
		waitFor(t, n.Addr()+" knows every node", func() bool {
			nodes, err := Do(n.Addr(), "CLUSTER", "NODES")
			return err == nil && strings.Count(strings.TrimSpace(nodes), "\n")+1 >= 2*len(masters)
		})
	}
	return masters, replicas
}
