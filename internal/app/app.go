// Package app builds a Klaxon server from its config: the store, the
// channels, the escalation engine, the ingest pipeline and the HTTP API,
// wired as `klaxon serve` runs them. Tests build the same server
// in-process, with a clock of their own.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"golang.org/x/sync/errgroup"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/api"
	"github.com/klaxonhq/klaxon/config"
	"github.com/klaxonhq/klaxon/escalate"
	"github.com/klaxonhq/klaxon/ingest"
	"github.com/klaxonhq/klaxon/internal/authlimit"
	"github.com/klaxonhq/klaxon/notify"
	"github.com/klaxonhq/klaxon/notify/twilio"
	"github.com/klaxonhq/klaxon/notify/webhook"
	"github.com/klaxonhq/klaxon/telemetry"
)

// shutdownGrace bounds how long in-flight webhooks get to finish.
const shutdownGrace = 10 * time.Second

// Options are what a server takes besides its config.
type Options struct {
	// ConfigPath is the config file; Overrides are the settings that
	// flags give over it (config.Load's).
	ConfigPath string
	Overrides  map[string]any
	Log        *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Console takes the pages of contact methods with no channel
	// (default: the log).
	Console notify.Channel
	// Watch reloads the config when one of its files changes; SIGHUP
	// reloads it either way.
	Watch bool
	// The escalation engine's: escalate.Options.
	Lease, Poll, PageTimeout time.Duration
	// ReadTimeout and PerIP hold every listener's clients to a time to
	// send a request and a number of connections.
	ReadTimeout time.Duration
	PerIP       int
	// Version and GOGC are logged with each listener's address.
	Version string
	GOGC    int
	// Tracing makes the spans of HTTP requests and of ingest (default:
	// off). Its owner shuts it down after Run.
	Tracing *telemetry.Tracing
}

// App is a server built and listening, not yet serving.
type App struct {
	log    *slog.Logger
	store  klaxon.Store
	engine *escalate.Engine
	// workers run beside the engine: status updates, Slack's messages.
	workers   []func(context.Context) error
	listeners []*listener
	reload    *reloader
	closeOnce sync.Once
	closeErr  error
}

// New loads the config, opens the store, builds the components and opens
// the listeners. Run serves; Close undoes New when Run is not called.
func New(ctx context.Context, o Options) (a *App, err error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Tracing == nil {
		o.Tracing = telemetry.Off()
	}
	log := o.Log
	cfg, err := config.Load(o.ConfigPath, o.Overrides)
	if err != nil {
		return nil, err
	}
	st, waited, err := openStore(ctx, cfg.Store, log, o.Tracing)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			_ = st.Close()
		}
	}()

	rt := newRuntime(cfg, st)
	channels, links, err := buildChannels(cfg, o.Now, o.Tracing)
	if err != nil {
		return nil, err
	}
	slackApp, err := newChat(rt, st, o.Now)
	if err != nil {
		return nil, err
	}
	if slackApp != nil {
		channels[klaxon.ViaSlack] = slackApp.client
	}
	console := o.Console
	if console == nil {
		console = notify.NewConsole(log)
	}
	dispatch := notify.NewDispatcher(channels, console)
	// The limits keep phones from ringing without pause in a storm; the
	// console, standing in for an unconfigured Twilio, needs none.
	// A call goes one at a time, limit or none (Ended frees the person):
	// the console's, whose end nobody reports, would hold them for
	// twilio.MaxCall.
	limits, calls := map[string]time.Duration{}, map[string]bool{}
	if cfg.Notify.Twilio != nil {
		limits[klaxon.ViaSMS], limits[klaxon.ViaVoice] = cfg.Notify.Limit(klaxon.ViaSMS), cfg.Notify.Limit(klaxon.ViaVoice)
		calls[klaxon.ViaVoice] = true
	}
	// An SMS stands for the pages that waited ("Reply AA"); a call
	// speaks one incident, so each waits for a call of its own.
	wanted := pageWanted(st)
	throttle := notify.NewThrottle(dispatch, notify.ThrottleOptions{Limits: limits, Now: o.Now,
		Bundles: map[string]bool{klaxon.ViaSMS: true},
		Calls:   calls,
		CallCap: twilio.MaxCall,    // or the end of the longest call
		Fits:    twilio.BundleFits, // SMS alone bundles
		Wanted: func(ctx context.Context, p klaxon.Page) bool { // in doubt, the bundle names it
			return wanted(ctx, klaxon.PageRef{Incident: p.Incident, Notification: p.Notification})
		}})
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	shared := telemetry.NewMetrics(reg)
	// The engine reads and writes through the store's own path for it,
	// where the store has one, so that no page waits behind ingest.
	engineStore := st
	if u, ok := st.(interface{ Urgent() klaxon.Store }); ok {
		engineStore = u.Urgent()
	}
	// One webhook per subscriber's URL, so that its pause holds every
	// update; notify.webhook's URL shares the pages' when it takes
	// Klaxon's JSON.
	var pages *webhook.Webhook
	var pagesURL, pagesSecret string
	if h := cfg.Notify.Webhook; h != nil && (h.Format == "" || h.Format == webhook.FormatJSON) {
		pages, _ = channels[klaxon.ViaWebhook].(*webhook.Webhook)
		pagesURL, pagesSecret = h.URL, h.Secret
	}
	hooks := newSubscriberHooks(func() string {
		if h := rt.cfg.Load().Notify.Webhook; h != nil {
			return h.Secret
		}
		return ""
	}, cfg.PublicURL, pages, pagesURL, pagesSecret)
	updates := notify.NewUpdates(dispatch, hooks.channel, rt.User, log)
	if err := updates.Register(reg); err != nil {
		return nil, fmt.Errorf("status updates' metrics: %w", err)
	}
	// What each commit that landed changed goes to the subscribers'
	// updates and to Slack's channel messages.
	var committed func([]*klaxon.Incident)
	// What a commit that failed and may have landed wrote: Slack's
	// channel messages read those incidents again.
	unsure := func([]*klaxon.Incident) {}
	// The engine hands heartbeats' deadlines to the heartbeats, which
	// commit through the pipeline, which wakes the engine.
	var heartbeats *ingest.Heartbeats
	// The engine asks the maintenance windows again as a held page's
	// hold ends: another may hold it on.
	var windows *maintenance
	engine := escalate.New(engineStore, throttle, rt.directory, log, escalate.Options{Lease: o.Lease, Poll: o.Poll, PageTimeout: o.PageTimeout, PerChannel: cfg.Notify.PerChannel(), Metrics: reg, Now: o.Now, Tracing: o.Tracing.On(), Shared: shared,
		MaxSnooze: func() time.Duration { return rt.cfg.Load().API.SnoozeBound() },
		Heartbeat: func(ctx context.Context, t klaxon.Timer) error { return heartbeats.Missed(ctx, t) },
		Held: func(ctx context.Context, inc *klaxon.Incident, now time.Time) (string, time.Time, bool, error) {
			return windows.heldNow(ctx, inc, now)
		},
		Committed: func(incs []*klaxon.Incident) { committed(incs) },
		Unsure:    func(incs []*klaxon.Incident) { unsure(incs) }})
	windows = newMaintenance(rt, st, engine.Release, o.Now, log)
	ingestOpts := []ingest.Option{ingest.WithMetrics(reg, shared), ingest.WithLogger(log.With("component", "ingest")), ingest.WithMaintenance(windows.hold), ingest.WithCommitted(func(incs []*klaxon.Incident) { committed(incs) }),
		ingest.WithUnsure(func(incs []*klaxon.Incident) { unsure(incs) })}
	if o.Tracing.Enabled() {
		ingestOpts = append(ingestOpts, ingest.WithTracing(o.Tracing.Provider))
	}
	pipeline := ingest.NewPipeline(st, rt.router, engine.Wake, o.Now, ingestOpts...)
	heartbeats = ingest.NewHeartbeats(st, pipeline, rt.heartbeat, o.Now)
	// The store answered as it opened: one that drops again as the
	// heartbeats are armed does not stop the start. They are armed once
	// it is back, as the server runs.
	armLater := false
	if err := heartbeats.Arm(ctx, heartbeatNames(cfg)); err != nil {
		if !errors.Is(err, klaxon.ErrUnavailable) || ctx.Err() != nil {
			return nil, err
		}
		log.Warn("arm heartbeats: trying again as the server runs", "component", "heartbeat", "err", err)
		armLater = true
	}
	committed = updates.Committed
	workers := []func(context.Context) error{updates.Run, pipeline.Run, windows.Run}
	if armLater {
		workers = append(workers, func(ctx context.Context) error {
			armUntil(ctx, func(ctx context.Context) error { return heartbeats.Arm(ctx, heartbeatNames(rt.cfg.Load())) }, log.With("component", "heartbeat"))
			return nil
		})
	}
	if slackApp != nil {
		committed = func(incs []*klaxon.Incident) {
			updates.Committed(incs)
			slackApp.sync.Committed(incs)
		}
		unsure = slackApp.sync.Unsure
	}
	var slackCallbacks http.Handler
	if slackApp != nil {
		slackApp.wire(rt, st, engine, o.Now, log, reg)
		slackCallbacks = slackApp.callbacks
		workers = append(workers, slackApp.sync.Run)
	}
	limiter := authlimit.New(o.Now, cfg.TrustedProxies...)
	webConsole, err := newConsole(rt, st, engine, limiter, o.Now, log)
	if err != nil {
		return nil, err
	}
	handler := api.New(api.Options{Store: st, Console: webConsole, Limiter: limiter, Heartbeats: heartbeats, Maintenance: windows, Slack: slackCallbacks, Accepter: pipeline, Commands: engine, Tokens: rt, Schedules: rt, Overrides: st, Links: links, Log: log, Registry: reg, Now: o.Now, Tracing: o.Tracing.On(),
		Tester:       testPager{dispatch: dispatch, users: func(id string) (klaxon.User, bool) { return rt.view().User(id) }},
		MetricsToken: func() string { return rt.cfg.Load().API.MetricsToken },
		Bounds: func() api.Bounds {
			a := rt.cfg.Load().API
			return api.Bounds{Snooze: a.SnoozeBound(), Override: a.OverrideBound()}
		},
		Twilio: twilio.NewCallbacks(twilio.CallbackOptions{Auth: rt.twilioAuth, Responder: engine, Incidents: st, Phonebook: rt, Memory: callbacks(st), Log: log, Now: o.Now,
			Ended: func(id string, n int) { throttle.Ended(klaxon.PageRef{Incident: id, Notification: n}) }})})

	listeners, err := listenAll(cfg.Listen, handler, connLimits{readTimeout: o.ReadTimeout, perIP: o.PerIP, trace: traced(o.Tracing)}, log)
	if err != nil {
		return nil, err
	}
	store := cfg.Store.Path
	if cfg.Store.Redis != nil {
		store = "redis://" + strings.Join(cfg.Store.Redis.Addrs, ",")
	}
	for _, l := range listeners {
		log.Info("klaxon listening", "addr", l.ln.Addr().String(), "tls", l.srv.TLSConfig != nil, "serve", l.serves(), "store", store, "version", o.Version, "gogc", o.GOGC)
	}
	configLog := log.With("component", "config")
	warn(configLog, cfg, o.Now())
	reload := newReloader(o.ConfigPath, o.Overrides, rt, configLog, o.Watch)
	reload.now = o.Now
	// A heartbeat the reload added is armed as at a start: one whose
	// sender never pings is missed too. One whose wait (interval and
	// grace) it lengthened waits anew, by the new one, from the reload: the
	// deadline its last ping set under the shorter one would page for a
	// silence the config no longer calls one. A wait shortened applies
	// from the next ping or deadline (see Heartbeats.Rearm).
	waits := heartbeatWaits(cfg)
	reload.reloaded = func(ctx context.Context) error {
		cfg := rt.cfg.Load()
		now := heartbeatWaits(cfg)
		var longer []string
		for name, wait := range now {
			if old, ok := waits[name]; ok && wait > old {
				longer = append(longer, name)
			}
		}
		if err := heartbeats.Rearm(ctx, longer); err != nil {
			return err
		}
		waits = now
		return heartbeats.Arm(ctx, heartbeatNames(cfg))
	}
	if waited {
		// The files were read before the wait, and watched only from
		// now: an edit made meanwhile is taken before it serves.
		reload.apply(ctx, "waited for the store")
	}
	return &App{log: log, store: st, engine: engine, listeners: listeners, workers: workers, reload: reload}, nil
}

// heartbeatWaits is how long each heartbeat integration of cfg waits
// for a ping, by name: its interval and grace.
func heartbeatWaits(cfg *config.Config) map[string]time.Duration {
	waits := map[string]time.Duration{}
	for _, in := range cfg.Integrations {
		if in.Type == config.TypeHeartbeat {
			interval, grace := in.Heartbeat()
			waits[in.Name] = interval + grace
		}
	}
	return waits
}

// heartbeatNames names the heartbeat integrations of cfg.
func heartbeatNames(cfg *config.Config) []string {
	var names []string
	for _, in := range cfg.Integrations {
		if in.Type == config.TypeHeartbeat {
			names = append(names, in.Name)
		}
	}
	return names
}

// Reload loads the config again, as SIGHUP does: an act on it that fails
// (arming a heartbeat it adds) is tried again by Run.
func (a *App) Reload(ctx context.Context) { a.reload.apply(ctx, "asked") }

// Addrs are the addresses the server listens on, in the config's order.
func (a *App) Addrs() []string {
	out := make([]string, len(a.listeners))
	for i, l := range a.listeners {
		out[i] = l.ln.Addr().String()
	}
	return out
}

// Engine is the server's escalation engine, for tests that move its
// clock: see escalate.Engine.RunOnce.
func (a *App) Engine() *escalate.Engine { return a.engine }

// Run serves until ctx ends, then shuts down: it stops taking webhooks
// and lets those in flight commit, stops the engine, and closes the
// store.
func (a *App) Run(ctx context.Context) error {
	engineCtx, stopEngine := context.WithCancel(context.WithoutCancel(ctx))
	defer stopEngine()
	g, gctx := errgroup.WithContext(ctx)
	for _, l := range a.listeners {
		g.Go(l.serve)
	}
	g.Go(func() error {
		<-gctx.Done()
		a.log.Info("shutting down")
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownGrace)
		defer cancel()
		var sg errgroup.Group
		for _, l := range a.listeners {
			sg.Go(func() error { return l.srv.Shutdown(sctx) })
		}
		err := sg.Wait()
		stopEngine()
		return err
	})
	g.Go(func() error { return a.engine.Run(engineCtx) })
	for _, w := range a.workers {
		g.Go(func() error { return w(engineCtx) })
	}
	g.Go(func() error { return a.reload.Run(gctx) })
	err := g.Wait()
	return errors.Join(err, a.Close())
}

// Close closes what New opened: the listeners, the reloader and the
// store. Run calls it as it returns; later calls return what the first
// did.
func (a *App) Close() error {
	a.closeOnce.Do(func() {
		var errs []error
		for _, l := range a.listeners {
			if err := l.ln.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
				errs = append(errs, err)
			}
		}
		a.reload.Close()
		if err := a.store.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close store: %w", err))
		}
		a.closeErr = errors.Join(errs...)
	})
	return a.closeErr
}

// pageWanted is whether a page that waited (a DM page holding a time,
// slack.Options.Wanted; one the throttle held, notify.ThrottleOptions'
// Wanted) is still to be sent, as st has it; in doubt, it is. A page
// waits on the reads, so they go through the store's path for the
// engine where it has one (Redis's urgent connections), not behind
// ingest's.
func pageWanted(st klaxon.IncidentReader) func(context.Context, klaxon.PageRef) bool {
	if u, ok := st.(interface{ Urgent() klaxon.Store }); ok {
		st = u.Urgent()
	}
	return func(ctx context.Context, r klaxon.PageRef) bool {
		wanted, err := klaxon.PageWanted(ctx, st, r.Incident, r.Notification)
		return wanted || err != nil
	}
}
