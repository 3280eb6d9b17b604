package redis

import (
	"context"
	"errors"
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

// errSendFailed answers the calls of a pipeline whose send panicked.
var errSendFailed = errors.New("send commits: the pipeline failed")

// run sends c, with the calls that wait with it, and returns its reply. A
// caller whose ctx ends while its call waits takes it back: the error then
// means it was not sent. Once sent, the call's reply is its answer, as a
// script's is once sent alone.
func (b *batcher) run(ctx context.Context, c call) ([]any, error) {
	bc := &batched{call: c, done: make(chan struct{})}
	b.mu.Lock()
	if b.flying < maxFlying {
		b.flying++
		batch := append(b.take(maxBatched-1), bc)
		b.mu.Unlock()
		b.fly(context.WithoutCancel(ctx), batch)
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

// take removes up to n calls from the head of waiting and returns them.
// b.mu is held.
func (b *batcher) take(n int) []*batched {
	n = min(n, len(b.waiting))
	batch := make([]*batched, n, n+1)
	copy(batch, b.waiting)
	if b.waiting = b.waiting[n:]; len(b.waiting) == 0 {
		b.waiting = nil
	}
	return batch
}

// fly sends batch and answers its calls. The calls that waited meanwhile
// go next, on a goroutine of their own, so that the caller that sent
// batch returns with its reply. Should send panic, the calls of batch are
// answered with an error and the others still go, before the panic goes
// on.
func (b *batcher) fly(ctx context.Context, batch []*batched) {
	defer b.handOn(ctx)
	defer func() {
		for _, bc := range batch {
			if bc.cmd == nil {
				bc.cmd = redis.NewCmd(ctx)
				bc.cmd.SetErr(errSendFailed)
				close(bc.done)
			}
		}
	}()
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

// handOn sends the calls that waited while a pipeline was on its way, or
// frees its place.
func (b *batcher) handOn(ctx context.Context) {
	b.mu.Lock()
	if len(b.waiting) == 0 {
		b.flying--
		b.mu.Unlock()
		return
	}
	next := b.take(maxBatched)
	b.mu.Unlock()
	go b.fly(ctx, next)
}
