package app

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/klaxonhq/klaxon/config"
)

// reloader loads the config again on SIGHUP and when a YAML file in one of
// its folders changes, and swaps it in whole. A config that does not load
// is refused, its errors are logged, and the running one stays; so is one
// that changes what only a restart applies (restartOnly): the running
// config is never half old. A renewed TLS
// certificate needs no reload: its listener reads the files again when
// they change. A reload does not read them (config.Reload), so one that
// comes while a renewal is halfway (the certificate written, not yet its
// key) goes through, and the listener keeps its last good pair until the
// files load again.
//
// Incidents keep the policy they started with: a reload changes routes,
// users, schedules and policies for what happens next, never an escalation
// already in flight.
type reloader struct {
	path      string
	overrides map[string]any
	rt        *runtime
	log       *slog.Logger
	hup       chan os.Signal
	w         *fsnotify.Watcher // nil when not watching files
	// reloaded, when set, acts on a config reloaded, once it runs; one
	// that fails is run again, every reloadedRetry, until it does not.
	reloaded func(ctx context.Context) error
	// now is the clock of the warnings a reload logs; nil for time.Now.
	now func() time.Time
	// owed says the last act on a reloaded config failed, wherever it
	// ran (Run, the start's reload, App.Reload): Run tries it again,
	// whatever reload is refused meanwhile. wake tells a running Run of
	// one that failed outside it.
	owed atomic.Bool
	wake chan struct{}
	mu   sync.Mutex // one reload at a time
}

// settle is how long files must be quiet before a reload, so that an
// editor's or git's burst of writes reloads once.
const settle = 100 * time.Millisecond

// newReloader starts listening for SIGHUP and, with watch, for changes in
// the config's folders, so that no change made after it returns is
// missed. Run acts on them; Close stops.
func newReloader(path string, overrides map[string]any, rt *runtime, log *slog.Logger, watch bool) *reloader {
	r := &reloader{path: path, overrides: overrides, rt: rt, log: log, hup: make(chan os.Signal, 1), wake: make(chan struct{}, 1)}
	signal.Notify(r.hup, syscall.SIGHUP)
	if watch {
		w, err := fsnotify.NewWatcher()
		if err != nil {
			log.Warn("watch config files; reload with SIGHUP only", "err", err)
			return r
		}
		r.w = w
		r.follow(rt.cfg.Load().Sources)
	}
	return r
}

// Close stops listening.
func (r *reloader) Close() {
	signal.Stop(r.hup)
	if r.w != nil {
		_ = r.w.Close()
	}
}

// Run reloads until ctx ends.
func (r *reloader) Run(ctx context.Context) error {
	var events <-chan fsnotify.Event
	var errs <-chan error
	if r.w != nil {
		events, errs = r.w.Events, r.w.Errors
	}
	var settled, retry <-chan time.Time
	// owing keeps a try of the act owed on its way, and none once the
	// act is done.
	owing := func() {
		switch {
		case !r.owed.Load():
			retry = nil
		case retry == nil:
			retry = time.After(reloadedRetry)
		}
	}
	owing()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-r.hup:
			r.apply(ctx, "SIGHUP")
			owing()
		case <-r.wake:
			owing()
		case ev := <-events:
			if r.changes(ev.Name) {
				settled = time.After(settle)
			}
		case err := <-errs:
			r.log.Warn("watch config files", "err", err)
		case <-settled:
			settled = nil
			r.apply(ctx, "file changed")
			r.rewatch()
			owing()
		case <-retry:
			retry = nil
			r.act(ctx)
			owing()
		}
	}
}

// changes reports whether a change of the file or folder name, in a
// watched folder, may change the config: a YAML file; a watched folder
// itself, replaced whole (a deploy that renames a new copy into place);
// or a name of Kubernetes' atomic writer (..data, ..2026_11_29...),
// whose swap of a symlink updates every file of a mounted ConfigMap.
func (r *reloader) changes(name string) bool {
	if ext := filepath.Ext(name); ext == ".yaml" || ext == ".yml" {
		return true
	}
	// The running config's folders, not the watch's: fsnotify drops the
	// watch of a folder moved or removed before it says so.
	return strings.HasPrefix(filepath.Base(name), "..") || slices.Contains(r.rt.cfg.Load().Sources, name)
}

// rewatch watches the running config's folders again, whether or not
// the change reloaded: a folder replaced whole is a new one at the same
// path, which the watch of the old one does not see.
func (r *reloader) rewatch() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.follow(r.rt.cfg.Load().Sources)
}

// reloadedRetry is how long after a failed act on a reloaded config
// (reloader.reloaded) it is tried again.
const reloadedRetry = 5 * time.Second

// apply reloads the config, then acts on it (reloaded); a reload
// refused leaves an act owed as it was.
func (r *reloader) apply(ctx context.Context, why string) {
	if r.reload(ctx, why) {
		r.act(ctx)
	}
}

// act runs reloaded, and keeps whether it is owed (see reloader.owed).
func (r *reloader) act(ctx context.Context) {
	if r.reloaded == nil {
		return
	}
	if err := r.reloaded(ctx); err != nil {
		r.log.Error("act on the reloaded config: trying again", "in", reloadedRetry, "err", err)
		r.owed.Store(true)
		select {
		case r.wake <- struct{}{}:
		default:
		}
		return
	}
	r.owed.Store(false)
}

// reload loads the config again and puts it in place, unless it is
// refused; it reports whether it did.
func (r *reloader) reload(ctx context.Context, why string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	cfg, err := config.Reload(r.path, r.overrides)
	if err != nil {
		for _, e := range config.Errors(err) {
			r.log.Error("reload refused: the running config stays", "why", why, "err", e)
		}
		return false
	}
	if changed := restartOnly(r.rt.cfg.Load(), cfg); len(changed) > 0 {
		for _, c := range changed {
			r.log.Error("reload refused: the running config stays", "why", why, "err", c)
		}
		return false
	}
	if r.w != nil {
		// Watched before they are in use: an edit made as soon as the
		// new config shows is seen.
		r.follow(cfg.Sources)
	}
	r.rt.cfg.Store(cfg)
	r.log.Info("config reloaded", "why", why, "policies", len(cfg.Policies), "users", len(cfg.Users), "schedules", len(cfg.Schedules))
	now := time.Now
	if r.now != nil {
		now = r.now
	}
	warn(r.log, cfg, now())
	return true
}

// warn logs what klaxon check warns of in cfg (a token of the example
// served beyond this machine, a gap in a schedule, a rule whose channel
// is not configured), one line a warning, as serve starts and after
// each reload: a server started without check says it too.
func warn(log *slog.Logger, cfg *config.Config, now time.Time) {
	for _, w := range cfg.Warnings(now) {
		log.Warn("config warning", "warning", w.String())
	}
}

// restartOnly says, for each section of klaxon.yaml that differs between
// old and cfg and that only a restart applies, what changed and why.
func restartOnly(old, cfg *config.Config) []string {
	var changed []string
	for _, s := range []struct {
		name, why string
		old, cfg  any
	}{
		{"listen", "its addresses, tls files and route groups change only at a restart", old.Listen, cfg.Listen},
		{"store", "the store is opened at start", old.Store, cfg.Store},
		{"public_url", "the channels are built at start with the links and callback addresses it makes, and Twilio signs its callbacks with the address it was given", old.PublicURL, cfg.PublicURL},
		{"notify", "the channels are built at start (Twilio's callbacks would check a new token while its client sends with the old)", old.Notify, cfg.Notify},
		{"secret", "it signs the mail links and console sessions, and is read at start", old.Secret, cfg.Secret},
		{"trusted_proxies", "the limit on failed authentications is built at start", old.TrustedProxies, cfg.TrustedProxies},
	} {
		if !reflect.DeepEqual(s.old, s.cfg) {
			changed = append(changed, fmt.Sprintf("%s changed: %s; restart klaxon, or put %s back", s.name, s.why, s.name))
		}
	}
	return changed
}

// follow makes the watcher watch exactly dirs.
func (r *reloader) follow(dirs []string) {
	w := r.w
	want := map[string]bool{}
	for _, d := range dirs {
		want[d] = true
	}
	for _, d := range w.WatchList() {
		if !want[d] {
			_ = w.Remove(d)
		}
	}
	for d := range want {
		if err := w.Add(d); err != nil { // watching a folder again is a no-op
			r.log.Warn("watch config folder", "dir", d, "err", err)
		}
	}
}
