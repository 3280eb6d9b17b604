package redis

import (
	"context"
	_ "embed"
	"errors"

	"github.com/redis/go-redis/v9"
)

// The Lua scripts. Each touches the keys of one slot only. They store what
// Go decided and check versions and leases; dedup and correlation stay in
// Go (package incident).
var (
	// bulkLua holds the functions that commit.lua, upgrade.lua,
	// group.lua, closed.lua and drain.lua share.
	//go:embed bulk.lua
	bulkLua string

	//go:embed commit.lua
	commitLua    string
	commitScript = redis.NewScript(bulkLua + commitLua)

	//go:embed group.lua
	groupLua    string
	groupScript = redis.NewScript(bulkLua + groupLua)

	//go:embed scan.lua
	scanLua    string
	scanScript = redis.NewScript(scanLua)

	//go:embed lease.lua
	leaseLua    string
	leaseScript = redis.NewScript(leaseLua)

	//go:embed upgrade.lua
	upgradeLua    string
	upgradeScript = redis.NewScript(bulkLua + upgradeLua)

	//go:embed renew.lua
	renewLua    string
	renewScript = redis.NewScript(renewLua)

	//go:embed closed.lua
	closedLua    string
	closedScript = redis.NewScript(bulkLua + closedLua)

	//go:embed unindex.lua
	unindexLua    string
	unindexScript = redis.NewScript(unindexLua)

	//go:embed drain.lua
	drainLua    string
	drainScript = redis.NewScript(bulkLua + drainLua)

	//go:embed first.lua
	firstLua    string
	firstScript = redis.NewScript(firstLua)
)

// call is one run of a script: its keys and arguments.
type call struct {
	keys []string
	args []any
}

// evalAll runs script once per call in one pipeline, by EVALSHA, and again
// by EVAL (which loads it) for the calls whose node did not have it, as
// after a restart or a failover: a NOSCRIPT reply means the script did not
// run. It returns the replies in the order of calls, or the first error.
// On a cluster, go-redis sends each call to the node of its first key.
func (s *Store) evalAll(ctx context.Context, script *redis.Script, calls []call) ([]*redis.Cmd, error) {
	return evalAll(ctx, s.rdb, script, calls)
}

// evalUrgent is evalAll on the escalation engine's own connections.
func (s *Store) evalUrgent(ctx context.Context, script *redis.Script, calls []call) ([]*redis.Cmd, error) {
	return evalAll(ctx, s.urgent, script, calls)
}

func evalAll(ctx context.Context, rdb redis.UniversalClient, script *redis.Script, calls []call) ([]*redis.Cmd, error) {
	cmds := evalEach(ctx, rdb, script, calls)
	for _, cmd := range cmds {
		if err := cmd.Err(); err != nil {
			return nil, err
		}
	}
	return cmds, nil
}

// evalEach is evalAll that returns every call's command, each with its
// own reply or error.
func evalEach(ctx context.Context, rdb redis.UniversalClient, script *redis.Script, calls []call) []*redis.Cmd {
	if len(calls) == 1 { // no pipeline to set up
		return []*redis.Cmd{script.Run(ctx, rdb, calls[0].keys, calls[0].args...)}
	}
	cmds := make([]*redis.Cmd, len(calls))
	run := func(idx []int, eval func(p redis.Pipeliner, c call) *redis.Cmd) {
		_, _ = rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for _, i := range idx {
				cmds[i] = eval(p, calls[i])
			}
			return nil
		})
	}
	all := make([]int, len(calls))
	for i := range all {
		all[i] = i
	}
	evalSha := func(p redis.Pipeliner, c call) *redis.Cmd { return script.EvalSha(ctx, p, c.keys, c.args...) }
	run(all, evalSha)
	missing := noScript(cmds, all)
	if len(missing) > 1 && script.Load(ctx, rdb).Err() == nil {
		// Loaded once (on every shard of a cluster), not sent with each
		// call: closing an incident of 100,000 alerts unindexes each.
		run(missing, evalSha)
		missing = noScript(cmds, missing)
	}
	if len(missing) > 0 {
		run(missing, func(p redis.Pipeliner, c call) *redis.Cmd { return script.Eval(ctx, p, c.keys, c.args...) })
	}
	return cmds
}

// noScript returns those of idx whose command in cmds the server
// answered NOSCRIPT: it did not hold the script.
func noScript(cmds []*redis.Cmd, idx []int) []int {
	var missing []int
	for _, i := range idx {
		if redis.HasErrorPrefix(cmds[i].Err(), "NOSCRIPT") {
			missing = append(missing, i)
		}
	}
	return missing
}

// pipelined sends the commands that fill adds in one pipeline and returns
// them. Its error is the first command's error other than redis.Nil: a
// missing key is an answer, not a failure.
func (s *Store) pipelined(ctx context.Context, fill func(redis.Pipeliner)) ([]redis.Cmder, error) {
	return pipelined(ctx, s.rdb, fill)
}

func pipelined(ctx context.Context, rdb redis.UniversalClient, fill func(redis.Pipeliner)) ([]redis.Cmder, error) {
	cmds, err := rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		fill(p)
		return nil
	})
	for _, cmd := range cmds {
		if err := cmd.Err(); err != nil && !errors.Is(err, redis.Nil) {
			return nil, err
		}
	}
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, err
	}
	return cmds, nil
}
