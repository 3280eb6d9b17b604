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

// result is what a call to run returned.
type result struct {
	reply []any
	err   error
}

// flyingNow counts the pipelines on their way.
func (b *batcher) flyingNow() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.flying
}

func (b *batcher) waitingNow() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.waiting)
}

// TestBatcherSendsWhatWaitedTogether: while maxFlying pipelines are on
// their way, calls wait, and the first pipeline back takes them all in
// one; each call gets its own reply or error, and a caller that gives up
// while its call waits takes it back, and leaves the others theirs.
func TestBatcherSendsWhatWaitedTogether(t *testing.T) {
	f := &fakeSend{release: make(chan struct{})}
	b := &batcher{send: f.send}
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
	require.ErrorIs(t, r.err, context.Canceled, "a caller that gives up while its call waits returns at once")
	require.Len(t, f.sent(), maxFlying, "nothing more is sent while every pipeline is on its way")

	f.release <- struct{}{} // one pipeline comes back
	require.Eventually(t, func() bool { return len(f.sent()) == maxFlying+1 }, 5*time.Second, time.Millisecond)
	sent := f.sent()
	require.Equal(t, []string{"waited-0", "waited-1", "waited-2", "fail", "waited-4", "waited-5", "waited-6", "waited-8", "waited-9"}, sent[maxFlying],
		"the calls that waited go together, in order, but for the one whose caller took it back")
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
	require.Eventually(t, func() bool { return b.flyingNow() == 0 }, 5*time.Second, time.Millisecond, "every pipeline came back")
	require.Len(t, f.sent(), maxFlying+1)
}

// TestBatcherBoundsAPipeline: of the calls that waited, one pipeline
// takes maxBatched; the rest go in the next.
func TestBatcherBoundsAPipeline(t *testing.T) {
	f := &fakeSend{release: make(chan struct{})}
	b := &batcher{send: f.send}
	var wg sync.WaitGroup
	errs := make(chan error, maxFlying+maxBatched+5)
	run := func(name string) {
		wg.Go(func() {
			_, err := b.run(t.Context(), call{args: []any{name}})
			errs <- err
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
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
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

// TestBatcherAnswersWhatWasSent: a caller whose ctx ends once its call
// is on its way gets the call's reply, not its ctx's error, whether its
// own goroutine sent the pipeline or the call had waited for one.
func TestBatcherAnswersWhatWasSent(t *testing.T) {
	t.Run("sent by its caller", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		b := &batcher{send: func(ctx context.Context, calls []call) []*redis.Cmd {
			cancel() // the caller gives up while its pipeline is on its way
			cmd := redis.NewCmd(ctx)
			cmd.SetVal([]any{"landed"})
			return []*redis.Cmd{cmd}
		}}
		reply, err := b.run(ctx, call{args: []any{"x"}})
		require.NoError(t, err)
		require.Equal(t, []any{"landed"}, reply)
	})
	t.Run("sent after it waited", func(t *testing.T) {
		f := &fakeSend{release: make(chan struct{})}
		b := &batcher{send: f.send}
		for i := range maxFlying {
			go func() { _, _ = b.run(t.Context(), call{args: []any{fmt.Sprintf("alone-%d", i)}}) }()
		}
		require.Eventually(t, func() bool { return len(f.sent()) == maxFlying }, 5*time.Second, time.Millisecond)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan result, 1)
		go func() {
			reply, err := b.run(ctx, call{args: []any{"waited"}})
			done <- result{reply, err}
		}()
		require.Eventually(t, func() bool { return b.waitingNow() == 1 }, 5*time.Second, time.Millisecond)
		f.release <- struct{}{} // one pipeline comes back and sends the call
		require.Eventually(t, func() bool { return len(f.sent()) == maxFlying+1 }, 5*time.Second, time.Millisecond)
		cancel()
		close(f.release)
		r := <-done
		require.NoError(t, r.err)
		require.Equal(t, []any{"waited"}, r.reply)
	})
}

// TestBatcherSendPanics: should a caller's send panic, the panic goes on
// to that caller, and the calls that waited for its place still go.
func TestBatcherSendPanics(t *testing.T) {
	f := &fakeSend{release: make(chan struct{})}
	entered, boom := make(chan struct{}), make(chan struct{})
	b := &batcher{send: func(ctx context.Context, calls []call) []*redis.Cmd {
		if calls[0].args[0] == "boom" {
			close(entered)
			<-boom
			panic("the pipeline broke")
		}
		return f.send(ctx, calls)
	}}
	panicked := make(chan any, 1)
	go func() {
		defer func() { panicked <- recover() }()
		_, _ = b.run(t.Context(), call{args: []any{"boom"}})
	}()
	<-entered
	results := make(chan result, maxFlying+1)
	runAndTell := func(name string) {
		go func() {
			reply, err := b.run(t.Context(), call{args: []any{name}})
			results <- result{reply, err}
		}()
	}
	for i := range maxFlying - 1 {
		runAndTell(fmt.Sprintf("alone-%d", i))
	}
	require.Eventually(t, func() bool { return len(f.sent()) == maxFlying-1 }, 5*time.Second, time.Millisecond)
	runAndTell("waited-0")
	runAndTell("waited-1")
	require.Eventually(t, func() bool { return b.waitingNow() == 2 }, 5*time.Second, time.Millisecond)
	close(boom)
	require.Equal(t, "the pipeline broke", <-panicked, "the panic goes on")
	require.Eventually(t, func() bool { return len(f.sent()) == maxFlying }, 5*time.Second, time.Millisecond,
		"the calls that waited go in the broken pipeline's place")
	require.ElementsMatch(t, []string{"waited-0", "waited-1"}, f.sent()[maxFlying-1])
	close(f.release)
	for range maxFlying + 1 {
		r := <-results
		require.NoError(t, r.err)
	}
	require.Eventually(t, func() bool { return b.flyingNow() == 0 }, 5*time.Second, time.Millisecond, "every place is freed")
}

// TestEvalEachLoadsScripts: a pipeline of calls to a node that lost its
// scripts (a restart, a failover) loads the script and runs each call
// once, each with its own reply.
func TestEvalEachLoadsScripts(t *testing.T) {
	rdb := redis.NewClient(&redis.Options{Addr: redistest.Start(t).Addr()})
	t.Cleanup(func() { _ = rdb.Close() })
	ctx := t.Context()
	script := redis.NewScript(`return redis.call('INCR', KEYS[1])`)
	require.NoError(t, rdb.ScriptFlush(ctx).Err())
	cmds := evalEach(ctx, rdb, script, []call{{keys: []string{"a"}}, {keys: []string{"b"}}, {keys: []string{"a"}}})
	var replies []int64
	for _, cmd := range cmds {
		n, err := cmd.Int64()
		require.NoError(t, err)
		replies = append(replies, n)
	}
	require.Equal(t, []int64{1, 1, 2}, replies)

	// A thousand calls after the server lost it: the script is loaded
	// once, not sent with each call.
	require.NoError(t, rdb.ScriptFlush(ctx).Err())
	require.NoError(t, rdb.ConfigResetStat(ctx).Err())
	calls := make([]call, 1000)
	for i := range calls {
		calls[i] = call{keys: []string{fmt.Sprint("k", i)}}
	}
	for _, cmd := range evalEach(ctx, rdb, script, calls) {
		require.NoError(t, cmd.Err())
	}
	stats := rdb.Info(ctx, "commandstats").Val()
	require.NotContains(t, stats, "cmdstat_eval:", "no call sent the script's source")
	require.Contains(t, stats, "cmdstat_script|load:calls=1,")
	require.Contains(t, stats, "cmdstat_evalsha:calls=2000,")
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
