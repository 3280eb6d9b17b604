package app

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"

	"github.com/klaxonhq/klaxon/api"
	"github.com/klaxonhq/klaxon/config"
	"github.com/klaxonhq/klaxon/telemetry"
)

// listener is one address serve answers HTTP on, open.
type listener struct {
	cfg config.Listener
	srv *http.Server
	ln  net.Listener
}

// connLimits are what every listener holds its clients to, and what
// wraps each listener's handler in a span per request.
type connLimits struct {
	readTimeout time.Duration
	perIP       int
	trace       func(http.Handler) http.Handler
}

// untraced are the paths of scrapes and probes, which would be a trace
// each, every few seconds.
var untraced = map[string]bool{"/metrics": true, "/healthz": true, "/readyz": true}

// traced wraps a handler in a server span per request (otelhttp): named
// for the route, with the trace context of the request's traceparent.
// With tracing off it is the handler itself.
func traced(t *telemetry.Tracing) func(http.Handler) http.Handler {
	if !t.Enabled() {
		return func(h http.Handler) http.Handler { return h }
	}
	return func(h http.Handler) http.Handler {
		return otelhttp.NewHandler(h, "klaxon", otelhttp.WithTracerProvider(t.Provider), otelhttp.WithPropagators(t.Propagator),
			otelhttp.WithFilter(func(r *http.Request) bool { return !untraced[r.URL.Path] }),
			otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string {
				if r.Pattern != "" {
					return r.Pattern
				}
				return r.Method
			}))
	}
}

// listenAll opens every listener of ls, each serving the route groups it
// names from h, with the same limits. On an error it closes the listeners
// it opened.
func listenAll(ls []config.Listener, h *api.Server, lim connLimits, log *slog.Logger) ([]*listener, error) {
	var out []*listener
	fail := func(err error) ([]*listener, error) {
		for _, l := range out {
			_ = l.ln.Close()
		}
		return nil, err
	}
	errLog := slog.NewLogLogger(log.With("component", "http").Handler(), slog.LevelInfo)
	for _, c := range ls {
		handler, err := h.Only(c.Serve...)
		if err != nil {
			return fail(fmt.Errorf("listen on %s: %w", c.Address, err))
		}
		// A silent or slow client is cut off: reading a request, body
		// included, has readTimeout; the answer has the commit's time
		// and more; an idle keep-alive connection two minutes.
		if lim.trace != nil {
			handler = lim.trace(handler)
		}
		srv := &http.Server{Handler: handler, ReadHeaderTimeout: min(10*time.Second, lim.readTimeout), ReadTimeout: lim.readTimeout,
			WriteTimeout: 2 * time.Minute, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10, ErrorLog: errLog}
		if c.TLS != nil {
			cert, err := api.NewCertificate(api.CertificateOptions{CertFile: c.TLS.CertFile, KeyFile: c.TLS.KeyFile, Log: log})
			if err != nil {
				return fail(fmt.Errorf("listen on %s: %w", c.Address, err))
			}
			srv.TLSConfig = cert.Config()
		}
		ln, err := net.Listen("tcp", c.Address)
		if err != nil {
			return fail(fmt.Errorf("listen: %w", err))
		}
		out = append(out, &listener{cfg: c, srv: srv, ln: api.LimitListener(ln, lim.perIP)})
	}
	return out, nil
}

// serve serves until the server shuts down.
func (l *listener) serve() error {
	var err error
	if l.srv.TLSConfig != nil {
		err = l.srv.ServeTLS(l.ln, "", "")
	} else {
		err = l.srv.Serve(l.ln)
	}
	if !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve http on %s: %w", l.ln.Addr(), err)
	}
	return nil
}

// serves names the route groups the listener serves, for the log.
func (l *listener) serves() string {
	if len(l.cfg.Serve) == 0 {
		return "all"
	}
	return strings.Join(l.cfg.Serve, ",")
}
