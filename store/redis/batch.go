package redis

import (
	"context"
	"slices"
	"sync"

	"github.com/redis/go-redis/v9"
)

// A storm's commits to different groups reach the store together, each a
// script of its own. Sent one by one, each costs both sides a round trip:
// a write and a read on each, and the network's work for each packet,
// which on a small commit is more than the script's own. The batcher
// sends the commits that wait together in one pipeline. While fewer than
// maxFlying pipelines are on their way, a commit goes at once, alone;
// while they all are, commits wait, and the first pipeline back takes
// them all, up to maxBatched. Each script still runs
// atomically on its group's node, and each commit gets its own reply: one
// commit's conflict is not its neighbour's.

// maxFlying bounds the pipelines of commits on their way at once. A
// commit that finds them all busy waits for one of them to come back,
// which takes no longer than sending it alone would have (Redis runs the
// scripts one after the other), and goes with the others that waited.
const maxFlying = 4

// maxBatched bounds the commits of one pipeline.
const maxBatched = 64

// batcher sends calls of one script in pipelines.
type batcher struct {
	// send runs the calls in one pipeline and returns a command for each,
	// in order, each with its own reply or error.
	send func(ctx context.Context, calls []call) []*redis.Cmd

	mu      sync.Mutex
	flying  int
	waiting []*batched
}

// batched is a call waiting for its pipeline's reply.
type batched struct {
	call
	cmd  *redis.Cmd
	done chan struct{} // closed once cmd holds the reply
}

// run sends c, or waits to send it with the others that wait, and
// returns its reply. Calls wait only while every place is taken (a place
// is freed only when none waits), so a call that finds a place goes
// alone. A caller whose ctx ends while its call waits takes it back: the
// error then means it was not sent. Once sent, the call's reply is its
// answer, as a script's is once sent alone.
func (b *batcher) run(ctx context.Context, c call) ([]any, error) {
	bc := &batched{call: c, done: make(chan struct{})}
	b.mu.Lock()
	if b.flying < maxFlying {
		b.flying++
		b.mu.Unlock()
		b.fly(context.WithoutCancel(ctx), []*batched{bc})
		return bc.cmd.Slice()
	}
	b.waiting = append(b.waiting, bc)
	b.mu.Unlock()
	select {
	case <-bc.done:
		return bc.cmd.Slice()
	case <-ctx.Done():
	}
	b.mu.Lock()
	if i := slices.Index(b.waiting, bc); i >= 0 {
		b.waiting = slices.Delete(b.waiting, i, i+1)
		b.mu.Unlock()
		return nil, ctx.Err()
	}
	b.mu.Unlock()
	<-bc.done // on its way: as long as the connection's timeouts allow
	return bc.cmd.Slice()
}

// fly sends batch and answers its calls, then hands its place on (see
// handOn), also when send panics: the calls that waited still go, and the
// panic goes on to the caller.
func (b *batcher) fly(ctx context.Context, batch []*batched) {
	defer b.handOn()
	calls := make([]call, len(batch))
	for i, bc := range batch {
		calls[i] = bc.call
	}
	cmds := b.send(ctx, calls)
	for i, bc := range batch {
		bc.cmd = cmds[i]
		close(bc.done)
	}
}

// handOn sends the calls that waited while a pipeline was on its way, up
// to maxBatched, on a goroutine of their own, so that the caller that
// sent the pipeline returns with its reply; or frees the pipeline's place
// when none waits.
func (b *batcher) handOn() {
	b.mu.Lock()
	if len(b.waiting) == 0 {
		b.flying--
		b.mu.Unlock()
		return
	}
	n := min(maxBatched, len(b.waiting))
	next := slices.Clone(b.waiting[:n])
	if b.waiting = b.waiting[n:]; len(b.waiting) == 0 {
		b.waiting = nil
	}
	b.mu.Unlock()
	go b.fly(context.Background(), next) // no one caller's: its trace is none of theirs
}
