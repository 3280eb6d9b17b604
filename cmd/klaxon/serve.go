package main

import (
	"context"
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
	a, err := app.New(ctx, app.Options{ConfigPath: *path, Overrides: overrides(), Log: log, Watch: *watch,
		Lease: *lease, Poll: *poll, PageTimeout: *pageTimeout, ReadTimeout: *readTimeout, PerIP: *perIP,
		Version: buildVersion(), GOGC: gogc})
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if *pprofAddr == "" {
		return a.Run(ctx)
	}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return a.Run(gctx) })
	g.Go(func() error { return servePprof(gctx, *pprofAddr, log) })
	return g.Wait()
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
