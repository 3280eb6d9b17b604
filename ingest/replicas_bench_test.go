//go:build unix

package ingest_test

import (
	"regexp"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/ingest"
	"github.com/klaxonhq/klaxon/internal/redistest"
	"github.com/klaxonhq/klaxon/store/redis"
)

var waitCalls = regexp.MustCompile(`cmdstat_wait:calls=(\d+)`)

// BenchmarkSingleEventsWait is BenchmarkSingleEvents/spread on a master
// with one replica, with and without wait_replicas: 64 senders, each op
// a delivery of one new alert to group n mod 1,000. It reports alerts/s
// and the WAITs the masters ran per delivery (waits/op): the coalescing.
func BenchmarkSingleEventsWait(b *testing.B) {
	benchWait(b, func(b *testing.B) []*redistest.Server {
		master := redistest.Start(b)
		redistest.StartReplica(b, master)
		return []*redistest.Server{master}
	})
}

// BenchmarkClusterEventsWait is BenchmarkSingleEventsWait on a Cluster
// of 3 masters with a replica each (256 shards).
func BenchmarkClusterEventsWait(b *testing.B) {
	benchWait(b, func(b *testing.B) []*redistest.Server {
		masters, _ := redistest.StartClusterWithReplicas(b)
		return masters
	})
}

// benchWait runs the deliveries of BenchmarkSingleEventsWait on the
// masters start starts, with wait_replicas 0 and 1.
func benchWait(b *testing.B, start func(*testing.B) []*redistest.Server) {
	for _, wait := range []int{0, 1} {
		b.Run("wait_replicas="+strconv.Itoa(wait), func(b *testing.B) {
			masters := start(b)
			addrs := make([]string, len(masters))
			for i, m := range masters {
				addrs[i] = m.Addr()
				_, err := redistest.Do(m.Addr(), "CONFIG", "RESETSTAT")
				require.NoError(b, err)
			}
			st, err := redis.Open(b.Context(), redis.Options{Addrs: addrs, WaitReplicas: wait})
			require.NoError(b, err)
			b.Cleanup(func() { _ = st.Close() })
			p := ingest.NewPipeline(st, func() ingest.Router { return byGroupLabel{} }, nil, time.Now)
			var next atomic.Int64
			var ops int64
			measure(b, 1, func() int64 {
				ops = send(b, p, &next, int64(b.N), func(n int64) []klaxon.Alert { return loadAlerts(n, n%1000, 1) })
				return ops
			})
			waits := 0
			for _, m := range masters {
				stats, err := redistest.Do(m.Addr(), "INFO", "commandstats")
				require.NoError(b, err)
				if m := waitCalls.FindStringSubmatch(stats); m != nil {
					n, _ := strconv.Atoi(m[1])
					waits += n
				}
			}
			b.ReportMetric(float64(waits)/float64(ops), "waits/op")
		})
	}
}
