package redis

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/redistest"
)

// fakeSend is a batcher's send that holds each pipeline until the test
// lets it go, and answers each call with its first argument, or fails
// the calls whose first argument is "fail".
type fakeSend struct {
	mu      sync.Mutex
	batches [][]string // the first argument of each call, by pipeline
	release chan struct{}
}

func (f *fakeSend) send(ctx context.Context, calls []call) []*redis.Cmd {
	batch := make([]string, len(calls))
	for i, c := range calls {
		batch[i] = c.args[0].(string)
	}
	f.mu.Lock()
	f.batches = append(f.batches, batch)
	f.mu.Unlock()
	<-f.release
	cmds := make([]*redis.Cmd, len(calls))
	for i, name := range batch {
		cmds[i] = redis.NewCmd(ctx)
		if name == "fail" {
			cmds[i].SetErr(errors.New("ERR fails alone"))
		} else {
			cmds[i].SetVal([]any{name})
		}
	}
	return cmds
}

// sent returns the pipelines sent so far.
func (f *fakeSend) sent() [][]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([][]string(nil), f.batches...)
}

func (b *batcher) waitingNow() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.waiting)
}

// TestBatcherSendsWhatWaitedTogether: while maxFlying pipelines are on
// their way, calls wait, and the first pipeline back takes them all in
// one; each call gets its own reply or error, and a caller that gives up
// leaves the others theirs.
func TestBatcherSendsWhatWaitedTogether(t *testing.T) {
	f := &fakeSend{release: make(chan struct{})}
	b := &batcher{send: f.send}
	type result struct {
		reply []any
		err   error
	}
	results := make(map[string]chan result)
	start := func(ctx context.Context, name string) {
		ch := make(chan result, 1)
		results[name] = ch
		go func() {
			reply, err := b.run(ctx, call{args: []any{name}})
			ch <- result{reply, err}
		}()
	}
	for i := range maxFlying {
		start(t.Context(), fmt.Sprintf("alone-%d", i))
		require.Eventually(t, func() bool { return len(f.sent()) == i+1 }, 5*time.Second, time.Millisecond)
	}
	gaveUp, giveUp := context.WithCancel(t.Context())
	for i := range 10 {
		name := fmt.Sprintf("waited-%d", i)
		switch i {
		case 3:
			name = "fail"
		case 7:
			start(gaveUp, name)
			require.Eventually(t, func() bool { return b.waitingNow() == i+1 }, 5*time.Second, time.Millisecond)
			continue
		}
		start(t.Context(), name)
		require.Eventually(t, func() bool { return b.waitingNow() == i+1 }, 5*time.Second, time.Millisecond)
	}
	giveUp()
	r := <-results["waited-7"]
	require.ErrorIs(t, r.err, context.Canceled, "a caller that gives up returns at once")
	require.Len(t, f.sent(), maxFlying, "nothing more is sent while every pipeline is on its way")

	f.release <- struct{}{} // one pipeline comes back
	require.Eventually(t, func() bool { return len(f.sent()) == maxFlying+1 }, 5*time.Second, time.Millisecond)
	sent := f.sent()
	require.Equal(t, []string{"waited-0", "waited-1", "waited-2", "fail", "waited-4", "waited-5", "waited-6", "waited-7", "waited-8", "waited-9"}, sent[maxFlying],
		"the calls that waited go together, in order, the one whose caller gave up too")
	close(f.release)
	for name, ch := range results {
		if name == "waited-7" {
			continue
		}
		r := <-ch
		if name == "fail" {
			require.ErrorContains(t, r.err, "fails alone")
			continue
		}
		require.NoError(t, r.err, name)
		require.Equal(t, []any{name}, r.reply, "each call its own reply")
	}
	require.Eventually(t, func() bool {
		b.mu.Lock()
		defer b.mu.Unlock()
		return b.flying == 0
	}, 5*time.Second, time.Millisecond, "every pipeline came back")
	require.Len(t, f.sent(), maxFlying+1)
}

// TestBatcherBoundsAPipeline: of the calls that waited, one pipeline
// takes maxBatched; the rest go in the next.
func TestBatcherBoundsAPipeline(t *testing.T) {
	f := &fakeSend{release: make(chan struct{})}
	b := &batcher{send: f.send}
	var wg sync.WaitGroup
	run := func(name string) {
		wg.Go(func() {
			_, err := b.run(t.Context(), call{args: []any{name}})
			require.NoError(t, err)
		})
	}
	for i := range maxFlying {
		run(fmt.Sprintf("alone-%d", i))
	}
	require.Eventually(t, func() bool { return len(f.sent()) == maxFlying }, 5*time.Second, time.Millisecond)
	for i := range maxBatched + 5 {
		run(fmt.Sprintf("waited-%d", i))
	}
	require.Eventually(t, func() bool { return b.waitingNow() == maxBatched+5 }, 5*time.Second, time.Millisecond)
	close(f.release)
	wg.Wait()
	var sizes []int
	for _, batch := range f.sent()[maxFlying:] {
		sizes = append(sizes, len(batch))
	}
	require.Contains(t, sizes, maxBatched)
	total := 0
	for _, n := range sizes {
		require.LessOrEqual(t, n, maxBatched)
		total += n
	}
	require.Equal(t, maxBatched+5, total)
}

// TestConcurrentCommits: commits to many groups at once, sent together,
// each land or conflict on their own, also after the server lost its
// scripts.
func TestConcurrentCommits(t *testing.T) {
	s := open(t, Options{Addrs: []string{redistest.Start(t).Addr()}})
	t.Cleanup(func() { _ = s.Close() })
	ctx := t.Context()
	require.NoError(t, s.rdb.ScriptFlush(ctx).Err()) // every node answers NOSCRIPT at first
	const groups = 200
	errs := make([]error, groups)
	var wg sync.WaitGroup
	for i := range groups {
		wg.Go(func() {
			group := fmt.Sprintf("g%d", i)
			inc := &klaxon.Incident{ID: fmt.Sprint(i + 1), Group: group, Summary: "disk full", State: klaxon.StateTriggered, CreatedAt: t0,
				Changed: []klaxon.AlertState{{Alert: klaxon.Alert{Key: "am/" + group, Status: klaxon.Firing}, Count: 1, FirstSeen: t0, LastSeen: t0}}}
			version := uint64(0)
			if i%10 == 9 {
				version = 3 // not the version stored: refused
			}
			errs[i] = s.Commit(ctx, klaxon.Commit{Group: group, Version: version, Open: inc.ID, Incidents: []*klaxon.Incident{inc}, Index: []string{"am/" + group}})
		})
	}
	wg.Wait()
	for i, err := range errs {
		group := fmt.Sprintf("g%d", i)
		g, rerr := s.Group(ctx, group, []string{"am/" + group})
		require.NoError(t, rerr)
		if i%10 == 9 {
			require.ErrorIs(t, err, klaxon.ErrConflict, group)
			require.Zero(t, g.Version, group)
			continue
		}
		require.NoError(t, err, group)
		require.Equal(t, uint64(1), g.Version, group)
		require.Equal(t, fmt.Sprint(i+1), g.Open.ID, group)
		require.Contains(t, g.Alerts, "am/"+group)
	}
}
