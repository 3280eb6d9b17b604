package app

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/propagation"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/config"
	"github.com/klaxonhq/klaxon/internal/logthin"
	"github.com/klaxonhq/klaxon/notify"
	"github.com/klaxonhq/klaxon/notify/email"
	"github.com/klaxonhq/klaxon/notify/twilio"
	"github.com/klaxonhq/klaxon/notify/webhook"
	"github.com/klaxonhq/klaxon/store/embedded"
	redisstore "github.com/klaxonhq/klaxon/store/redis"
	"github.com/klaxonhq/klaxon/telemetry"
)

// linkTTL is how long the links in a mail page work.
const linkTTL = 24 * time.Hour

// buildChannels makes the channels notify configures, keyed by contact
// method, and the signer of mail links (nil without mail). Contact methods
// with no channel go to the console.
func buildChannels(cfg *config.Config, now func() time.Time, tr *telemetry.Tracing) (map[string]notify.Channel, *email.Links, error) {
	channels := map[string]notify.Channel{}
	// With tracing, Twilio's REST requests are spans of the page's trace
	// (their URL names only the account). A webhook's are not: its URL
	// may be its secret (Slack's is), which a client span would record.
	// Neither is sent the trace context: it is Klaxon's own.
	var hc *http.Client
	if tr.Enabled() {
		hc = &http.Client{Timeout: 10 * time.Second,
			Transport: otelhttp.NewTransport(http.DefaultTransport, otelhttp.WithTracerProvider(tr.Provider),
				otelhttp.WithPropagators(propagation.NewCompositeTextMapPropagator()))}
	}
	if t := cfg.Notify.Twilio; t != nil {
		tw, err := twilio.New(twilio.Options{AccountSID: t.AccountSID, AuthToken: t.AuthToken, From: t.From, APIURL: t.APIURL, PublicURL: cfg.PublicURL, HTTPClient: hc})
		if err != nil {
			return nil, nil, fmt.Errorf("notify.twilio: %w", err)
		}
		channels[klaxon.ViaSMS], channels[klaxon.ViaVoice] = tw.SMS(), tw.Voice()
	}
	if h := cfg.Notify.Webhook; h != nil {
		wh, err := webhook.New(webhook.Options{URL: h.URL, Secret: h.Secret, Format: h.Format, PublicURL: cfg.PublicURL})
		if err != nil {
			return nil, nil, fmt.Errorf("notify.webhook: %w", err)
		}
		channels[klaxon.ViaWebhook] = wh
	}
	var links *email.Links
	if m := cfg.Notify.SMTP; m != nil {
		links = email.NewLinks([]byte(cfg.Secret), linkTTL, now)
		em, err := email.New(email.Options{Host: m.Host, Port: m.Port, Username: m.Username, Password: m.Password,
			From: m.From, TLS: m.TLS, PublicURL: cfg.PublicURL, Links: links, Now: now})
		if err != nil {
			return nil, nil, fmt.Errorf("notify.smtp: %w", err)
		}
		channels[klaxon.ViaEmail] = em
	}
	return channels, links, nil
}

// openStore opens the Redis store when the config has one, else the
// embedded store.
// openStore opens the store c names, and reports whether it had to
// wait for it (see openRedis).
func openStore(ctx context.Context, c config.Store, log *slog.Logger, tr *telemetry.Tracing) (st klaxon.Store, waited bool, err error) {
	if c.Redis == nil {
		if tr.Enabled() {
			st, err = embedded.Open(c.Path, embedded.WithTracing(tr.Provider))
		} else {
			st, err = embedded.Open(c.Path)
		}
		return st, false, err
	}
	o := redisstore.Options{Addrs: c.Redis.Addrs, MasterName: c.Redis.MasterName, Username: c.Redis.Username, Password: c.Redis.Password, DB: c.Redis.DB,
		SentinelUsername: c.Redis.SentinelUsername, SentinelPassword: c.Redis.SentinelPassword, Timeout: c.Redis.TimeoutOr(0),
		WaitReplicas: c.Redis.WaitReplicas, WaitTimeout: c.Redis.WaitTimeoutOr(0)}
	if tr.Enabled() {
		o.Tracing = telemetry.ChildOnly(tr.Provider) // not the engine's polls and renewals
	}
	if c.Redis.TLS {
		o.TLS = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	goredis.SetLogger(redisLog{log: log.With("component", "redis"), thin: logthin.New(nil)})
	rs, waited, err := openRedis(ctx, o, log)
	if err != nil {
		return nil, waited, fmt.Errorf("store.redis: %w", err)
	}
	aof, rdb, err := rs.Persistence(ctx)
	switch {
	case err != nil:
		log.Warn("read Redis persistence settings", "err", err)
	case !aof && !rdb:
		log.Warn("Redis keeps no AOF and no RDB snapshots: a Redis restart loses every incident and timer; turn on appendonly")
	}
	return rs, waited, nil
}

// openRedis opens the Redis store, and tries again while Redis cannot be
// reached or cannot serve yet (down, loading its data, a failover), every
// retryMax at most (backoff), until ctx ends: a replica started with Redis (a
// host's reboot, a deploy of both) waits for it, rather than exit and be
// started again only when its supervisor's backoff allows. Anything else
// (a wrong password, a keyspace of a newer Klaxon) is returned at once.
func openRedis(ctx context.Context, o redisstore.Options, log *slog.Logger) (st *redisstore.Store, waited bool, err error) {
	var b backoff
	for ; ; waited = true {
		st, err := redisstore.Open(ctx, o)
		if err == nil || !errors.Is(err, klaxon.ErrUnavailable) {
			return st, waited, err
		}
		log.Warn("Redis cannot be reached or serve yet: trying again", "component", "redis", "in", b.next(), "err", err)
		if !b.sleep(ctx) {
			return nil, waited, err
		}
	}
}

// redisLog sends go-redis's own messages (reconnects, mostly) to the
// log, at most one a second while Redis is down: a failed dial of each
// connection of each pool would be dozens a second.
type redisLog struct {
	log  *slog.Logger
	thin *logthin.Thinner
}

func (l redisLog) Printf(ctx context.Context, format string, v ...any) {
	if ok, held := l.thin.Let(); ok {
		l.log.WarnContext(ctx, fmt.Sprintf(format, v...), "unlogged", held)
	}
}

// Both stores remember Twilio's callbacks.
var (
	_ twilio.Memory = (*embedded.Store)(nil)
	_ twilio.Memory = (*redisstore.Store)(nil)
)

// callbacks is st's memory of Twilio's callbacks.
func callbacks(st klaxon.Store) twilio.Memory {
	cb, _ := st.(twilio.Memory)
	return cb
}
