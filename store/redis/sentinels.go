package redis

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/klaxonhq/klaxon"
	"github.com/redis/go-redis/v9"
)

// askSentinels asks each Sentinel of o, all at once and each once, for
// the address of o.MasterName, and returns nil when one gives it.
//
// go-redis says "all sentinels specified in configuration are
// unreachable" both when they are and when they answer but none knows
// the master, which Open would take for an outage to wait out. Here the
// two part: Sentinels that all answer and none with the master are a
// config error (a master name no Sentinel knows, a password they ask
// for or refuse, an address that is no Sentinel), returned as it is; while one
// cannot be reached, the error matches klaxon.ErrUnavailable, and says
// what each Sentinel answered.
func askSentinels(ctx context.Context, o Options) error {
	answers := make([]error, len(o.Addrs))
	var wg sync.WaitGroup
	for i, addr := range o.Addrs {
		wg.Go(func() {
			c := redis.NewSentinelClient(sentinelOptions(o, addr))
			defer c.Close()
			answers[i] = c.GetMasterAddrByName(ctx, o.MasterName).Err()
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("ask Sentinels for master %q: %w", o.MasterName, classify(err))
	}
	var unknown, said, refused []string
	down := false
	for i, err := range answers {
		addr := o.Addrs[i]
		switch {
		case err == nil:
			return nil
		case errors.Is(err, redis.Nil):
			unknown = append(unknown, addr)
			said = append(said, addr+" knows no such master")
		case strings.HasPrefix(err.Error(), "NOAUTH"):
			refused = append(refused, "the Sentinel at "+addr+" asks for a password: "+err.Error())
		case strings.HasPrefix(err.Error(), "WRONGPASS"):
			refused = append(refused, "the Sentinel at "+addr+" refused it: "+err.Error())
		default:
			down = down || unavailable(err)
			said = append(said, addr+": "+err.Error())
		}
	}
	switch {
	case len(refused) > 0:
		// Sentinels share their config: waiting changes nothing.
		return klaxon.Invalid("sentinel_password", "%s", strings.Join(refused, "; "))
	case down:
		return fmt.Errorf("redis %w: ask Sentinels for master %q: %s", klaxon.ErrUnavailable, o.MasterName, strings.Join(said, "; "))
	case len(unknown) == len(o.Addrs):
		return klaxon.Invalid("master_name", "no Sentinel at %s knows master %q", strings.Join(unknown, ", "), o.MasterName)
	}
	return fmt.Errorf("ask Sentinels for master %q: %s", o.MasterName, strings.Join(said, "; "))
}

// sentinelOptions are those of a client of the Sentinel at addr, as
// go-redis makes them from o, without its retries: Open's caller tries
// again.
func sentinelOptions(o Options, addr string) *redis.Options {
	so := &redis.Options{Addr: addr, Username: o.SentinelUsername, Password: o.SentinelPassword, TLSConfig: o.TLS, MaxRetries: -1, DialerRetries: 1}
	if o.Timeout > 0 {
		so.DialTimeout, so.ReadTimeout, so.WriteTimeout = o.Timeout, o.Timeout, o.Timeout
	}
	return so
}
