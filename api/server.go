// Package api is Klaxon's HTTP surface: the ingest webhooks, the incident
// API for people and the CLI, health and metrics. Errors are mapped to
// status codes in one place, writeError.
package api

import (
	"context"
	"crypto/subtle"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel/trace"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/config"
	"github.com/klaxonhq/klaxon/internal/authlimit"
	"github.com/klaxonhq/klaxon/internal/httpstatus"
	"github.com/klaxonhq/klaxon/internal/logthin"
	"github.com/klaxonhq/klaxon/notify/email"
	"github.com/klaxonhq/klaxon/notify/slack"
	"github.com/klaxonhq/klaxon/notify/twilio"
	"github.com/klaxonhq/klaxon/telemetry"
)

// MaxBody is the largest request body accepted, but an Alertmanager
// webhook's (MaxGroupBody).
const MaxBody = 1 << 20

// MaxGroupBody is the largest Alertmanager webhook accepted. Alertmanager
// sends a whole group in one body (examples/alertmanager.yml sets no
// max_alerts), and does not retry a 4xx: a group refused for its size
// would be lost, every alert of it. 32 MiB holds some 50,000 alerts of
// the usual half a kilobyte; the integration's token is checked before
// the body is read.
const MaxGroupBody = 32 << 20

// bodyLimit is the largest body r may carry: MaxGroupBody for an
// Alertmanager webhook (POST /v1/ingest/alertmanager, the one route with
// a source), MaxBody for any other.
func bodyLimit(r *http.Request) int64 {
	if r.PathValue("source") == "alertmanager" {
		return MaxGroupBody
	}
	return MaxBody
}

// Tokens authenticates callers against the current configuration.
type Tokens interface {
	// Integration returns the name of the integration of type kind whose
	// token is token.
	Integration(kind, token string) (name string, ok bool)
	// Caller returns the API token token.
	Caller(token string) (Caller, bool)
	// Feed returns the name of the calendar feed token token and the
	// schedule whose feed it reads.
	Feed(token string) (name, schedule string, ok bool)
}

// Users finds a user of the current config.
type Users interface {
	User(id string) (klaxon.User, bool)
}

// Caller is an API token: its name, which acts in the timeline, the widest
// of its scopes, and whether it may act for someone else (a command's
// "by").
type Caller struct {
	Name  string
	Scope klaxon.Scope
	ActAs bool
}

// Accepter commits alerts; nil means every alert is durable.
type Accepter interface {
	Accept(ctx context.Context, alerts []klaxon.Alert) error
}

// Commander carries out the commands on incidents.
type Commander interface {
	// Act acknowledges, resolves or escalates incident id for who.
	Act(ctx context.Context, a klaxon.Action, id string, who klaxon.Actor) (*klaxon.Incident, error)
	Snooze(ctx context.Context, id string, d time.Duration, who klaxon.Actor) (*klaxon.Incident, error)
	// Note, Assign and Merge work an incident: a note or status update,
	// a role (assignee, commander) given, one incident moved into another.
	Note(ctx context.Context, id, text string, update bool, who klaxon.Actor) (*klaxon.Incident, error)
	Assign(ctx context.Context, id, role, user string, who klaxon.Actor) (*klaxon.Incident, error)
	Merge(ctx context.Context, src, dst string, who klaxon.Actor) (*klaxon.Incident, error)
}

// Options are what the server serves from.
type Options struct {
	Store    klaxon.Store
	Accepter Accepter
	Commands Commander
	Tokens   Tokens
	// Schedules and Overrides serve who is on call and runtime overrides.
	Schedules Schedules
	Overrides klaxon.OverrideStore
	// Twilio serves Twilio's signed callbacks (twilio.Callbacks); nil
	// answers them 404.
	Twilio http.Handler
	// Links verifies the links of mail pages; nil without mail.
	Links *email.Links
	// Tester sends test pages; nil for none.
	Tester Tester
	// MetricsToken returns the token /metrics asks for, "" for none; it
	// is read per request, so a reload applies.
	MetricsToken func() string
	// Users are the users of the current config: a mail link of a user
	// no longer among them no longer acts. Default Schedules.
	Users Users
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Tracing makes a span of each webhook body's decoding; nil for
	// none.
	Tracing trace.TracerProvider
	// Bounds returns the longest snooze and override accepted, nil for
	// DefaultBounds; it is read per request, so a reload applies.
	Bounds func() Bounds
	Log    *slog.Logger
	// Maintenance keeps runtime maintenance windows; nil answers 404.
	Maintenance Maintenance
	// Slack serves Slack's signed callbacks (slack.Callbacks); nil
	// answers them 404.
	Slack http.Handler
	// Heartbeats takes heartbeats' pings; nil answers them 404.
	Heartbeats Heartbeats
	// Console is the web console (web.Console), served at / and every
	// path outside /v1/ and /v2/; nil answers them 404.
	Console http.Handler
	// Limiter counts failed authentications, shared with the other
	// edges that check credentials (default: one of the server's own).
	Limiter *authlimit.Limiter
	// Registry is where the server registers its metrics and what
	// /metrics serves.
	Registry *prometheus.Registry
}

// Bounds are the longest snooze and runtime override the API accepts; a
// zero field is its default.
type Bounds struct {
	Snooze, Override time.Duration
}

// DefaultBounds: a snooze lasts at most 7 days, an override 366.
var DefaultBounds = Bounds{Snooze: 7 * 24 * time.Hour, Override: 366 * 24 * time.Hour}

// bounds are the bounds in force.
func (s *Server) bounds() Bounds {
	b := DefaultBounds
	if s.o.Bounds != nil {
		got := s.o.Bounds()
		if got.Snooze > 0 {
			b.Snooze = got.Snooze
		}
		if got.Override > 0 {
			b.Override = got.Override
		}
	}
	return b
}

// Server is the HTTP API.
type Server struct {
	o         Options
	log       *slog.Logger
	mux       *http.ServeMux
	metrics   *metrics
	failures  *authlimit.Limiter
	readiness *readiness
	// unavailable thins out the log lines of 503s.
	unavailable *logthin.Thinner
	// groups are the route group of each pattern of mux.
	groups map[string]string
}

// New returns the API server.
func New(o Options) *Server {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Limiter == nil {
		o.Limiter = authlimit.New(o.Now)
	}
	if o.Users == nil && o.Schedules != nil {
		o.Users = o.Schedules
	}
	s := &Server{o: o, log: o.Log.With("component", "api"), mux: http.NewServeMux(), metrics: newMetrics(o.Registry), failures: o.Limiter, groups: map[string]string{}}
	s.unavailable = logthin.New(o.Now)
	s.readiness = &readiness{now: o.Now, log: s.log, ping: func(context.Context) error { return errors.New("no store") }}
	if o.Store != nil {
		s.readiness.ping = o.Store.Ping
	}
	s.handle(GroupIngest, "POST /v1/ingest/{source}", s.timed(s.ingest))
	s.handle(GroupIngest, "POST /v2/enqueue", s.timed(s.enqueue))
	s.handle(GroupIngest, "POST /v2/change/enqueue", s.timed(s.changeEnqueue))
	s.handle(GroupIngest, "POST /v1/heartbeat/{name}", s.heartbeat)
	s.handle(GroupAPI, "GET /v1/incidents", s.auth(klaxon.ScopeRead, s.listIncidents))
	s.handle(GroupAPI, "GET /v1/incidents/{id}", s.auth(klaxon.ScopeRead, s.getIncident))
	s.handle(GroupAPI, "GET /v1/incidents/{id}/alerts", s.auth(klaxon.ScopeRead, s.incidentAlerts))
	s.handle(GroupAPI, "GET /v1/incidents/{id}/timeline", s.auth(klaxon.ScopeRead, s.incidentTimeline))
	s.handle(GroupAPI, "POST /v1/incidents/{id}/{command}", s.auth(klaxon.ScopeAct, s.command))
	s.handle(GroupAPI, "POST /v1/users/{id}/test-page", s.auth(klaxon.ScopeAct, s.testPage))
	s.schedulesRoutes()
	s.reviewRoutes()
	s.maintenanceRoutes()
	s.callbacks(GroupTwilio, twilio.CallbackPaths, o.Twilio, "Twilio is not configured (notify.twilio)")
	s.callbacks(GroupSlack, slack.CallbackPaths, o.Slack, "Slack is not configured (notify.slack)")
	s.ackRoutes()
	s.handle(GroupHealth, "GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	s.handle(GroupHealth, "GET /readyz", s.ready)
	// OpenMetrics, when asked for, carries the exemplars, which exist
	// only with tracing; without, the text format alone, as before
	// (OpenMetrics writes a bucket's le="1" as le="1.0").
	metrics := promhttp.HandlerFor(o.Registry, promhttp.HandlerOpts{EnableOpenMetrics: o.Tracing != nil})
	s.handle(GroupMetrics, "GET /metrics", func(w http.ResponseWriter, r *http.Request) {
		if o.MetricsToken != nil {
			if want := o.MetricsToken(); want != "" && subtle.ConstantTimeCompare([]byte(bearer(r)), []byte(want)) != 1 {
				// Counted, but a right token is never refused: a scrape
				// behind a guesser's address still gets through.
				s.refuse(w, r, errorf(http.StatusUnauthorized, "missing or wrong metrics token (Authorization: Bearer <api.metrics_token>)"))
				return
			}
		}
		metrics.ServeHTTP(w, r)
	})
	if o.Console != nil {
		// The console answers every path outside the API's, with its own
		// pages; the API's unknown paths stay JSON.
		s.handle(GroupWeb, "/", func(w http.ResponseWriter, r *http.Request) {
			// A wrong method on a route of the API outside /v1/
			// (/healthz, /metrics) is its 405, not the console's page.
			if len(s.allowed(r)) > 0 {
				s.notFound(w, r)
				return
			}
			o.Console.ServeHTTP(w, r)
		})
		s.mux.HandleFunc("/v1/", s.notFound)
		s.mux.HandleFunc("/v2/", s.notFound)
	} else {
		s.mux.HandleFunc("/", s.notFound)
	}
	return s
}

// ServeHTTP serves the API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	if allow := s.allowed(r); len(allow) > 0 {
		w.Header().Set("Allow", strings.Join(allow, ", "))
		s.writeError(w, r, errorf(http.StatusMethodNotAllowed, "method %s not allowed on %s: use %s", r.Method, r.URL.Path, strings.Join(allow, " or ")))
		return
	}
	s.writeError(w, r, errorf(http.StatusNotFound, "no such endpoint: %s %s", r.Method, r.URL.Path))
}

// allowed are the methods a route of a group served takes r's path
// with, none when no route serves it: the catch-alls take any method.
func (s *Server) allowed(r *http.Request) []string {
	var allow []string
	for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		probe := r.Clone(r.Context())
		probe.Method = m
		_, pattern := s.mux.Handler(probe)
		group, ok := s.groups[pattern]
		if ok && pattern != "/" && config.Served(r.Context(), group) {
			allow = append(allow, m)
		}
	}
	return allow
}

type metrics struct {
	alerts   *prometheus.CounterVec
	requests *prometheus.HistogramVec
	refused  *prometheus.CounterVec
	leftOut  *prometheus.CounterVec
}

// Why an ingest request was refused: the label reason of
// klaxon_ingest_refused_total, from the status code of the answer.
var refusals = []string{"unauthorized", "invalid", "not_found", "too_large", "unsupported", "throttled", "unavailable", "gone", "error"}

// refusal is why a request answered code was refused.
func refusal(code int) string {
	switch {
	case code == http.StatusUnauthorized, code == http.StatusForbidden:
		return "unauthorized"
	case code == http.StatusNotFound, code == http.StatusMethodNotAllowed:
		return "not_found"
	case code == http.StatusRequestEntityTooLarge:
		return "too_large"
	case code == http.StatusUnsupportedMediaType:
		return "unsupported"
	case code == http.StatusTooManyRequests:
		return "throttled"
	case code == http.StatusServiceUnavailable:
		return "unavailable"
	case code == httpstatus.ClientClosed:
		return "gone"
	case code >= 500:
		return "error"
	}
	return "invalid"
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		alerts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "klaxon_ingest_alerts_total",
			Help: "Alerts received by webhook and committed, by integration and status.",
		}, []string{"integration", "status"}),
		requests: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "klaxon_ingest_request_seconds",
			Help:    "Webhook requests from their start to their answer, by route and status code.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"route", "code"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "klaxon_ingest_refused_total",
			Help: "Webhook and Events API requests answered with an error, by integration (empty until the token named one) and reason: " + strings.Join(refusals, ", ") + ".",
		}, []string{"integration", "reason"}),
	}
	m.leftOut = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "klaxon_ingest_alerts_left_out_total",
		Help: "Alerts a sender left out of its webhooks (Alertmanager's max_alerts, Grafana's Max Alerts), which Klaxon never heard of, by integration.",
	}, []string{"integration"})
	// A request its token names no integration of exists from the
	// start, at 0, so that a rule on its increase sees the first.
	for _, reason := range refusals {
		m.refused.WithLabelValues("", reason)
	}
	reg.MustRegister(m.alerts, m.requests, m.refused, m.leftOut)
	return m
}

// decodeSpan starts the span of a body's decoding, or none without
// tracing.
func (s *Server) decodeSpan(r *http.Request) trace.Span {
	if s.o.Tracing == nil {
		return trace.SpanFromContext(context.Background())
	}
	_, span := s.o.Tracing.Tracer("github.com/klaxonhq/klaxon/api").Start(r.Context(), "ingest.decode")
	return span
}

// timed observes how long h takes to answer, by route and status code,
// with the request's trace as exemplar when it is sampled.
func (s *Server) timed(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		// The body's limit is set on the server's own writer, which
		// closes the connection after a body over it; readJSON's, on sw,
		// meets the same limit.
		r.Body = http.MaxBytesReader(w, r.Body, bodyLimit(r))
		sw := &statusWriter{ResponseWriter: w, code: http.StatusOK}
		h(sw, r)
		telemetry.Observe(r.Context(), s.metrics.requests.WithLabelValues(r.Pattern, strconv.Itoa(sw.code)), time.Since(start).Seconds())
		if sw.code >= 400 {
			s.metrics.refused.WithLabelValues(sw.integration, refusal(sw.code)).Inc()
		}
	}
}

// attribute names the integration whose token a request to an ingest
// route (timed) carries, for the count of its refusals.
func attribute(w http.ResponseWriter, integration string) {
	if sw, ok := w.(*statusWriter); ok {
		sw.integration = integration
	}
}

// callbacks mounts a provider's signed callbacks, h, at paths in group;
// without h (the provider is not configured) each path answers 404,
// saying so.
func (s *Server) callbacks(group string, paths []string, h http.Handler, missing string) {
	if h == nil {
		h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s.writeError(w, r, errorf(http.StatusNotFound, "%s", missing))
		})
	}
	for _, path := range paths {
		s.handle(group, "POST "+path, h.ServeHTTP)
	}
}

// statusWriter remembers the status code written.
type statusWriter struct {
	http.ResponseWriter
	code        int
	integration string // the integration its token named, if any
}

func (w *statusWriter) WriteHeader(code int) {
	w.code = code
	w.ResponseWriter.WriteHeader(code)
}

// Unwrap is the writer underneath, for http.ResponseController.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
