package main

import (
	"context"
	"crypto/rand"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/klaxonhq/klaxon/config"
	"github.com/klaxonhq/klaxon/internal/app"
	"github.com/klaxonhq/klaxon/telemetry"
)

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
	o, pprofAddr, err := serveOptions(args, stderr)
	if err != nil {
		return err
	}
	o.Log = slog.New(telemetry.LogHandler(slog.NewTextHandler(stderr, nil)))
	o.GOGC = tuneGC(os.Getenv)
	tr, err := telemetry.Setup(ctx, telemetry.Options{Version: o.Version, Replica: replicaName()})
	if err != nil {
		return err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := tr.Shutdown(sctx); err != nil {
			o.Log.Warn("flush traces", "err", err)
		}
	}()
	o.Tracing = tr
	// Before the server is built: a stop while it waits for its store
	// (Redis down at start) is a clean one, and a SIGHUP then (a reload
	// asked early) does not kill it: it reloads once the server is built,
	// before it serves, as the files may have changed since they were read.
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	early := make(chan os.Signal, 1)
	signal.Notify(early, syscall.SIGHUP)
	a, err := app.New(ctx, o)
	signal.Stop(early) // the server's reloader takes SIGHUP from here
	if err != nil {
		if ctx.Err() != nil {
			o.Log.Info("stopped before it started", "err", err)
			return nil
		}
		return err
	}
	select {
	case <-early:
		a.Reload(ctx)
	default:
	}
	if pprofAddr == "" {
		return a.Run(ctx)
	}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return a.Run(gctx) })
	g.Go(func() error { return servePprof(gctx, pprofAddr, o.Log) })
	return g.Wait()
}

// replicaName names this process in its traces: the host and a random
// part, as two replicas may share a host.
func replicaName() string {
	host, _ := os.Hostname()
	return host + "-" + rand.Text()[:8]
}

// serveOptions reads serve's flags into the options of the server, and
// the address of --pprof.
func serveOptions(args []string, stderr io.Writer) (o app.Options, pprofAddr string, err error) {
	fs := flag.NewFlagSet("klaxon serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path, overrides := configFlags(fs)
	fs.BoolVar(&o.Watch, "watch", true, "reload when a config, policy, user or schedule file changes (SIGHUP reloads too)")
	fs.DurationVar(&o.Lease, "engine-lease", 15*time.Second, "how long a replica owns an escalation timer it claimed; a crashed replica's step pages this much later, from another")
	fs.DurationVar(&o.Poll, "engine-poll", time.Second, "how often the engine looks for due timers that another replica set; its own wake it at once")
	fs.DurationVar(&o.PageTimeout, "page-timeout", time.Minute, "how long one try of a page may take; a page still hanging then is tried again, and its claim is no longer renewed")
	fs.StringVar(&pprofAddr, "pprof", "", "serve net/http/pprof on this separate address, like 127.0.0.1:6060 (default off)")
	fs.DurationVar(&o.ReadTimeout, "read-timeout", 30*time.Second, "how long a client may take to send a request, body included; a connection silent that long is closed")
	fs.IntVar(&o.PerIP, "max-conns-per-ip", 512, "connections one client address may hold at once; past that a new one is closed at once")
	if pos, err := parseFlags(fs, args); err != nil {
		return o, "", err
	} else if len(pos) > 0 {
		fmt.Fprintf(stderr, "klaxon serve: %q is no flag: the config is --config FILE\n", pos[0])
		return o, "", errUsage
	}
	switch {
	case o.Lease <= 0:
		return o, "", fmt.Errorf("--engine-lease %s: must be positive", o.Lease)
	case o.Poll <= 0:
		return o, "", fmt.Errorf("--engine-poll %s: must be positive", o.Poll)
	case o.PageTimeout <= 0:
		return o, "", fmt.Errorf("--page-timeout %s: must be positive", o.PageTimeout)
	case o.ReadTimeout <= 0 || o.PerIP <= 0:
		return o, "", fmt.Errorf("--read-timeout %s, --max-conns-per-ip %d: must be positive", o.ReadTimeout, o.PerIP)
	}
	o.ConfigPath, o.Overrides, o.Version = *path, overrides(), buildVersion()
	return o, pprofAddr, nil
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
	if pos, err := parseFlags(fs, args); err != nil {
		return err
	} else if len(pos) > 0 {
		// Not the config checked: that is --config FILE (or KLAXON_CONFIG),
		// and checking another while the one named is left unread would
		// answer ok for a file nobody looked at.
		fmt.Fprintf(stderr, "klaxon check: %q is no flag: check a config with --config FILE\n", pos[0])
		return errUsage
	}
	at := atFlag.in(time.Local)
	cfg, err := config.Load(*path, overrides())
	if err != nil {
		for _, e := range config.Errors(err) {
			fmt.Fprintln(stderr, e)
		}
		return fmt.Errorf("%s: %d error(s)", *path, len(config.Errors(err)))
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
