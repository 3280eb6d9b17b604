package main

import (
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	goredis "github.com/redis/go-redis/v9"
	"golang.org/x/sync/errgroup"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/api"
	"github.com/klaxonhq/klaxon/config"
	"github.com/klaxonhq/klaxon/escalate"
	"github.com/klaxonhq/klaxon/ingest"
	"github.com/klaxonhq/klaxon/notify"
	"github.com/klaxonhq/klaxon/notify/email"
	"github.com/klaxonhq/klaxon/notify/twilio"
	"github.com/klaxonhq/klaxon/notify/webhook"
	"github.com/klaxonhq/klaxon/store/embedded"
	redisstore "github.com/klaxonhq/klaxon/store/redis"
)

// shutdownGrace bounds how long in-flight webhooks get to finish.
const shutdownGrace = 10 * time.Second

// configFlag registers --config. Every command finds the config the same
// way: --config, else KLAXON_CONFIG, else klaxon.yaml in the working
// directory.
func configFlag(fs *flag.FlagSet) *string {
	return fs.String("config", envOr("KLAXON_CONFIG", "klaxon.yaml"), "config file (default KLAXON_CONFIG, else klaxon.yaml)")
}

// configFlags registers the flags that override the config file and
// returns a function that gives the overrides that were set.
func configFlags(fs *flag.FlagSet) (path *string, overrides func() map[string]any) {
	path = configFlag(fs)
	listen := fs.String("listen", "", "listen address (overrides KLAXON_LISTEN and listen:)")
	storePath := fs.String("store-path", "", "embedded store file (overrides KLAXON_STORE_PATH and store.path)")
	return path, func() map[string]any {
		o := map[string]any{}
		fs.Visit(func(f *flag.Flag) {
			switch f.Name {
			case "listen":
				o["listen"] = *listen
			case "store-path":
				// A path typed on the command line is relative to the
				// working directory, not to the config file.
				p, err := filepath.Abs(*storePath)
				if err != nil {
					p = *storePath
				}
				o["store.path"] = p
			}
		})
		return o
	}
}

func serve(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("klaxon serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path, overrides := configFlags(fs)
	watch := fs.Bool("watch", true, "reload when a config, policy, user or schedule file changes (SIGHUP reloads too)")
	lease := fs.Duration("engine-lease", 15*time.Second, "how long a replica owns an escalation timer it claimed; a crashed replica's step pages this much later, from another")
	poll := fs.Duration("engine-poll", time.Second, "how often the engine looks for due timers that another replica set; its own wake it at once")
	pageTimeout := fs.Duration("page-timeout", time.Minute, "how long one try of a page may take; a page still hanging then is tried again, and its claim is no longer renewed")
	pprofAddr := fs.String("pprof", "", "serve net/http/pprof on this separate address, like 127.0.0.1:6060 (default off)")
	readTimeout := fs.Duration("read-timeout", 30*time.Second, "how long a client may take to send a request, body included; a connection silent that long is closed")
	perIP := fs.Int("max-conns-per-ip", 512, "connections one client address may hold at once; past that a new one is closed at once")
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	if *lease <= 0 {
		return fmt.Errorf("--engine-lease %s: must be positive", *lease)
	}
	if *poll <= 0 {
		return fmt.Errorf("--engine-poll %s: must be positive", *poll)
	}
	if *pageTimeout <= 0 {
		return fmt.Errorf("--page-timeout %s: must be positive", *pageTimeout)
	}
	if *readTimeout <= 0 || *perIP <= 0 {
		return fmt.Errorf("--read-timeout %s, --max-conns-per-ip %d: must be positive", *readTimeout, *perIP)
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	gogc := tuneGC(os.Getenv)
	cfg, err := config.Load(*path, overrides())
	if err != nil {
		return err
	}
	st, err := openStore(ctx, cfg.Store, log)
	if err != nil {
		return err
	}
	defer st.Close()

	rt := newRuntime(cfg, st)
	channels, links, err := buildChannels(cfg)
	if err != nil {
		return err
	}
	dispatch := notify.NewDispatcher(channels, notify.NewConsole(log))
	// The limits keep phones from ringing without pause in a storm; the
	// console, standing in for an unconfigured Twilio, needs none.
	limits := map[string]time.Duration{}
	if cfg.Notify.Twilio != nil {
		limits[klaxon.ViaSMS], limits[klaxon.ViaVoice] = cfg.Notify.Limit(klaxon.ViaSMS), cfg.Notify.Limit(klaxon.ViaVoice)
	}
	throttle := notify.NewThrottle(dispatch, limits, nil)
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	// The engine reads and writes through the store's own path for it,
	// where the store has one, so that no page waits behind ingest.
	engineStore := st
	if u, ok := st.(interface{ Urgent() klaxon.Store }); ok {
		engineStore = u.Urgent()
	}
	engine := escalate.New(engineStore, throttle, rt.directory, log, escalate.Options{Lease: *lease, Poll: *poll, PageTimeout: *pageTimeout, PerChannel: cfg.Notify.PerChannel(), Metrics: reg,
		MaxSnooze: func() time.Duration { return rt.cfg.Load().API.SnoozeBound() }})
	pipeline := ingest.NewPipeline(st, rt.router, engine.Wake, nil)
	handler := api.New(api.Options{Store: st, Accepter: pipeline, Commands: engine, Tokens: rt, Schedules: rt, Overrides: st, Links: links, Log: log, Registry: reg,
		Tester:       testPager{dispatch: dispatch, users: func(id string) (klaxon.User, bool) { return rt.view().User(id) }},
		MetricsToken: func() string { return rt.cfg.Load().API.MetricsToken },
		Bounds: func() api.Bounds {
			a := rt.cfg.Load().API
			return api.Bounds{Snooze: a.SnoozeBound(), Override: a.OverrideBound()}
		},
		Twilio: twilio.NewCallbacks(twilio.CallbackOptions{Auth: rt.twilioAuth, Responder: engine, Incidents: st, Phonebook: rt, Memory: callbacks(st), Log: log})})

	listeners, err := listenAll(cfg.Listen, handler, connLimits{readTimeout: *readTimeout, perIP: *perIP}, log)
	if err != nil {
		return err
	}
	reload := newReloader(*path, overrides(), rt, log.With("component", "config"), *watch)
	defer reload.Close()
	store := cfg.Store.Path
	if cfg.Store.Redis != nil {
		store = "redis://" + strings.Join(cfg.Store.Redis.Addrs, ",")
	}
	for _, l := range listeners {
		log.Info("klaxon listening", "addr", l.ln.Addr().String(), "tls", l.srv.TLSConfig != nil, "serve", l.serves(), "store", store, "version", buildVersion(), "gogc", gogc)
	}

	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	engineCtx, stopEngine := context.WithCancel(context.WithoutCancel(ctx))
	defer stopEngine()
	g, gctx := errgroup.WithContext(ctx)
	for _, l := range listeners {
		g.Go(l.serve)
	}
	g.Go(func() error {
		// Shutdown order: stop taking webhooks and let those in flight
		// commit, then stop the engine; the store closes last (deferred).
		<-gctx.Done()
		log.Info("shutting down")
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownGrace)
		defer cancel()
		var sg errgroup.Group
		for _, l := range listeners {
			sg.Go(func() error { return l.srv.Shutdown(sctx) })
		}
		err := sg.Wait()
		stopEngine()
		return err
	})
	g.Go(func() error { return engine.Run(engineCtx) })
	g.Go(func() error { return reload.Run(gctx) })
	if *pprofAddr != "" {
		g.Go(func() error { return servePprof(gctx, *pprofAddr, log) })
	}
	return g.Wait()
}

// linkTTL is how long the links in a mail page work.
const linkTTL = 24 * time.Hour

// buildChannels makes the channels notify configures, keyed by contact
// method, and the signer of mail links (nil without mail). Contact methods
// with no channel go to the console.
func buildChannels(cfg *config.Config) (map[string]notify.Channel, *email.Links, error) {
	channels := map[string]notify.Channel{}
	if t := cfg.Notify.Twilio; t != nil {
		tw, err := twilio.New(twilio.Options{AccountSID: t.AccountSID, AuthToken: t.AuthToken, From: t.From, APIURL: t.APIURL, PublicURL: cfg.PublicURL})
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
		links = email.NewLinks([]byte(cfg.Secret), linkTTL, time.Now)
		em, err := email.New(email.Options{Host: m.Host, Port: m.Port, Username: m.Username, Password: m.Password,
			From: m.From, TLS: m.TLS, PublicURL: cfg.PublicURL, Links: links})
		if err != nil {
			return nil, nil, fmt.Errorf("notify.smtp: %w", err)
		}
		channels[klaxon.ViaEmail] = em
	}
	return channels, links, nil
}

// openStore opens the Redis store when the config has one, else the
// embedded store.
func openStore(ctx context.Context, c config.Store, log *slog.Logger) (klaxon.Store, error) {
	if c.Redis == nil {
		return embedded.Open(c.Path)
	}
	o := redisstore.Options{Addrs: c.Redis.Addrs, MasterName: c.Redis.MasterName, Username: c.Redis.Username, Password: c.Redis.Password, DB: c.Redis.DB}
	if c.Redis.TLS {
		o.TLS = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	goredis.SetLogger(redisLog{log.With("component", "redis")})
	st, err := redisstore.Open(ctx, o)
	if err != nil {
		return nil, fmt.Errorf("store.redis: %w", err)
	}
	aof, rdb, err := st.Persistence(ctx)
	switch {
	case err != nil:
		log.Warn("read Redis persistence settings", "err", err)
	case !aof && !rdb:
		log.Warn("Redis keeps no AOF and no RDB snapshots: a Redis restart loses every incident and timer; turn on appendonly")
	}
	return st, nil
}

// redisLog sends go-redis's own messages (reconnects, mostly) to the log.
type redisLog struct{ log *slog.Logger }

func (l redisLog) Printf(ctx context.Context, format string, v ...any) {
	l.log.WarnContext(ctx, fmt.Sprintf(format, v...))
}

// check validates a config the way serve would load it, then warns of
// what is valid but likely wrong, like gaps in a schedule's coverage over
// the next weeks. Errors and warnings go to stderr, one a line; the ok line
// to stdout. Warnings alone exit 0, unless --strict.
func check(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("klaxon check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path, overrides := configFlags(fs)
	strict := fs.Bool("strict", false, "treat warnings as errors: exit 1 on any")
	atFlag := newTimeFlag(time.Now(), "now")
	fs.Var(atFlag, "at", "look for coverage gaps from this time: "+timeHelp+"; a wall time is in the local time zone")
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	at := atFlag.in(time.Local)
	cfg, err := config.Load(*path, overrides())
	if err != nil {
		for _, e := range flatten(err) {
			fmt.Fprintln(stderr, e)
		}
		return fmt.Errorf("%s: %d error(s)", *path, len(flatten(err)))
	}
	warnings := cfg.Warnings(at)
	for _, w := range warnings {
		fmt.Fprintln(stderr, "warning:", w)
	}
	if *strict && len(warnings) > 0 {
		return fmt.Errorf("%s: %d warning(s), and --strict makes them errors", *path, len(warnings))
	}
	fmt.Fprintf(stdout, "%s: ok (%d integrations, %d policies, %d users, %d schedules)\n",
		*path, len(cfg.Integrations), len(cfg.Policies), len(cfg.Users), len(cfg.Schedules))
	return nil
}

// flatten lists the errors joined in err.
func flatten(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, flatten(e)...)
		}
		return out
	}
	return []error{err}
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
