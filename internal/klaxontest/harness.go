// Package klaxontest runs Klaxon in-process for end-to-end tests, with
// a clock the test moves, a fake Twilio and an SMTP server, after the
// harness of GoAlert's smoke tests:
//
//	h := klaxontest.Start(t, cfg)
//	h.Alertmanager(body)
//	h.Phone("+15550100001").ExpectSMS("payments")
//	h.FastForward(10 * time.Minute)
//	h.Mail().Expect("alice@example.com")
//
// A page that no Expect took fails the test when it ends: after moving
// the clock past the moment something would happen, the end of the test
// is the proof that it did not.
package klaxontest

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/api"
	"github.com/klaxonhq/klaxon/internal/app"
	"github.com/klaxonhq/klaxon/internal/fakeclock"
	"github.com/klaxonhq/klaxon/internal/smtptest"
	"github.com/klaxonhq/klaxon/internal/syncbuf"
	"github.com/klaxonhq/klaxon/internal/twiliotest"
	"github.com/klaxonhq/klaxon/notify"
	"github.com/klaxonhq/klaxon/notify/twilio"
	"github.com/klaxonhq/klaxon/telemetry"
)

// From is the number Klaxon texts and calls from.
const From = "+15550100000"

// Harness is a Klaxon running in-process for one test.
type Harness struct {
	// URL is Klaxon's base URL.
	URL string
	// Clock is Klaxon's clock; FastForward moves it.
	Clock  *fakeclock.Clock
	Twilio *twiliotest.Server
	SMTP   *smtptest.Server

	t       *testing.T
	app     *app.App
	opts    app.Options
	stop    func()
	logs    *syncbuf.Buffer
	console *console
	// dir holds the config's files, main what the harness puts in
	// klaxon.yaml besides cfg.
	dir  string
	main object
}

// Option sets what Klaxon runs with beyond its config.
type Option func(*app.Options)

// WithTracing runs Klaxon with tr.
func WithTracing(tr *telemetry.Tracing) Option {
	return func(o *app.Options) { o.Tracing = tr }
}

// Start runs Klaxon with cfg until the test ends. Its clock starts at
// the real time and moves only by FastForward.
func Start(t *testing.T, cfg Config, opts ...Option) *Harness {
	t.Helper()
	h := &Harness{t: t, Clock: fakeclock.New(time.Now().UTC().Truncate(time.Second)),
		Twilio: twiliotest.Start(t), SMTP: smtptest.Start(t, smtptest.Options{}),
		logs: &syncbuf.Buffer{}, console: &console{}}
	notify := object{
		"twilio": object{"account_sid": h.Twilio.AccountSID, "auth_token": h.Twilio.AuthToken, "from": From, "api_url": h.Twilio.URL},
		"smtp":   object{"host": h.SMTP.Host(), "port": h.SMTP.Port(), "tls": "none", "from": "Klaxon <klaxon@example.com>"},
	}
	if cfg.Slack != nil {
		notify["slack"] = object{"bot_token": cfg.Slack.BotToken, "signing_secret": cfg.Slack.SigningSecret, "api_url": cfg.Slack.APIURL}
	}
	h.dir = t.TempDir()
	t.Cleanup(func() {
		// After Serve's cleanup has stopped Klaxon: nothing pages later.
		for _, p := range h.Twilio.Untaken() {
			t.Errorf("a page nobody expected: %s", p)
		}
		for _, m := range h.SMTP.Untaken() {
			t.Errorf("a page nobody expected: mail to %v", m.To)
		}
		for _, p := range h.console.pages() {
			t.Errorf("a page nobody expected: %s to %s on the console", p.Via, p.User.ID)
		}
		if t.Failed() {
			t.Logf("klaxon's log:\n%s", h.logs)
		}
	})
	// Twilio signs its callbacks over the public URL, which must be known
	// before Klaxon starts: Klaxon listens on an address picked before,
	// which another process may take first; then another is picked.
	h.app, h.stop = ServeAt(t, func(addr string) app.Options {
		h.URL = "http://" + addr
		h.main = object{
			"listen":     addr,
			"public_url": h.URL,
			"secret":     "klaxontest-secret-0123456789",
			"notify":     notify,
		}
		path := cfg.write(t, h.dir, h.main)
		o := app.Options{ConfigPath: path, Log: slog.New(telemetry.LogHandler(slog.NewTextHandler(h.logs, nil))), Now: h.Clock.Now, Console: h.console}
		for _, set := range opts {
			set(&o)
		}
		h.opts = withDefaults(o)
		return h.opts
	})
	t.Cleanup(func() { h.stop() })
	return h
}

// Serve builds Klaxon with o and runs it until stop or the end of the
// test; the test fails unless it stops cleanly. Options left zero get
// serve's defaults (lease 15 s, poll 1 s, page timeout 1 min, read
// timeout 30 s, 512 connections a client); Klaxon's log is shown if the
// test fails.
func Serve(t *testing.T, o app.Options) (a *app.App, stop func()) {
	t.Helper()
	if o.Log == nil {
		logs := &syncbuf.Buffer{}
		o.Log = slog.New(slog.NewTextHandler(logs, nil))
		t.Cleanup(func() {
			if t.Failed() {
				t.Logf("klaxon's log:\n%s", logs)
			}
		})
	}
	a, stop = serve(t, withDefaults(o))
	t.Cleanup(stop)
	return a, stop
}

// withDefaults gives the options left zero serve's defaults.
func withDefaults(o app.Options) app.Options {
	o.Lease, o.Poll, o.PageTimeout = cmp.Or(o.Lease, 15*time.Second), cmp.Or(o.Poll, time.Second), cmp.Or(o.PageTimeout, time.Minute)
	o.ReadTimeout, o.PerIP = cmp.Or(o.ReadTimeout, 30*time.Second), cmp.Or(o.PerIP, 512)
	return o
}

// ServeAt runs Klaxon as Serve does, on a loopback address it picks
// free, with the options that options builds for that address (its
// config's listen and public_url), for a server whose public URL must be
// known before it starts (Twilio signs callbacks over it). A port free
// when picked may be taken by another process before Klaxon listens on
// it: then ServeAt picks another, up to listenAttempts times.
func ServeAt(t *testing.T, options func(addr string) app.Options) (a *app.App, stop func()) {
	t.Helper()
	for attempt := 1; ; attempt++ {
		o := withDefaults(options(pickAddr(t)))
		a, stop, err := tryServe(t, o)
		if err == nil {
			t.Cleanup(stop)
			return a, stop
		}
		if !errors.Is(err, syscall.EADDRINUSE) || attempt == listenAttempts {
			require.NoError(t, err)
		}
	}
}

// listenAttempts bounds the addresses ServeAt tries.
const listenAttempts = 5

// pickAddr picks the address ServeAt tries next; a test replaces it.
var pickAddr = FreeAddr

// serve builds Klaxon with o and runs it until stop, which fails the
// test unless Klaxon stops cleanly; stop may be called again.
func serve(t *testing.T, o app.Options) (*app.App, func()) {
	t.Helper()
	a, stop, err := tryServe(t, o)
	require.NoError(t, err)
	return a, stop
}

// tryServe is serve, returning the error of a Klaxon that did not start.
func tryServe(t *testing.T, o app.Options) (*app.App, func(), error) {
	t.Helper()
	a, err := app.New(t.Context(), o)
	if err != nil {
		return nil, nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	var once sync.Once
	return a, func() {
		once.Do(func() {
			cancel()
			require.NoError(t, <-done, "klaxon stops")
		})
	}, nil
}

// FreeAddr picks a free loopback address, for a server whose public
// URL must be known before it starts (Twilio signs callbacks over it).
// Another process may take it before the server listens: ServeAt tries
// another then.
func FreeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}

// FastForward moves Klaxon's clock by d and returns once the escalation
// engine has done all that is due by then: every page due is sent.
func (h *Harness) FastForward(d time.Duration) {
	h.t.Helper()
	h.Clock.Add(d)
	_, err := h.app.Engine().RunOnce(h.t.Context())
	require.NoError(h.t, err, "the engine's turn")
}

// Stop stops Klaxon as SIGTERM does; Restart starts it again on the
// same config and store, with the same clock.
func (h *Harness) Stop() { h.stop() }

// Restart starts Klaxon again after Stop.
func (h *Harness) Restart() {
	h.t.Helper()
	h.app, h.stop = serve(h.t, h.opts)
}

// Reload writes cfg over the config's files and has Klaxon load them
// again, as SIGHUP does.
func (h *Harness) Reload(cfg Config) {
	h.t.Helper()
	cfg.write(h.t, h.dir, h.main)
	h.app.Reload(h.t.Context())
}

// Logs is what Klaxon logged so far.
func (h *Harness) Logs() string { return h.logs.String() }

// Do sends a request with the API token and returns the status and body.
func (h *Harness) Do(method, path string, body any) (int, []byte) {
	h.t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		r = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		require.NoError(h.t, err)
		r = bytes.NewReader(j)
	}
	return h.request(method, path, APIToken, r)
}

func (h *Harness) request(method, path, token string, body io.Reader) (int, []byte) {
	h.t.Helper()
	req, err := http.NewRequestWithContext(h.t.Context(), method, h.URL+path, body)
	require.NoError(h.t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	require.NoError(h.t, err)
	defer res.Body.Close()
	out, err := io.ReadAll(res.Body)
	require.NoError(h.t, err)
	return res.StatusCode, out
}

// Alertmanager posts an Alertmanager webhook body; the test fails unless
// it is accepted.
func (h *Harness) Alertmanager(body []byte) {
	h.t.Helper()
	code, out := h.request(http.MethodPost, "/v1/ingest/alertmanager", AlertmanagerToken, bytes.NewReader(body))
	require.Equal(h.t, http.StatusOK, code, "%s", out)
}

// Incident returns an incident, its first page of alerts and timeline.
func (h *Harness) Incident(id string) *api.IncidentView {
	h.t.Helper()
	code, out := h.Do(http.MethodGet, "/v1/incidents/"+id, nil)
	require.Equal(h.t, http.StatusOK, code, "%s", out)
	var v api.IncidentView
	require.NoError(h.t, json.Unmarshal(out, &v))
	return &v
}

// OpenIncident returns the one open incident whose labels hold
// alertname; the test fails unless there is exactly one.
func (h *Harness) OpenIncident(alertname string) *api.IncidentView {
	h.t.Helper()
	var found []string
	for _, inc := range h.openIncidents() {
		if inc.Labels["alertname"] == alertname {
			found = append(found, inc.ID)
		}
	}
	require.Len(h.t, found, 1, "open incidents of %s", alertname)
	return h.Incident(found[0])
}

// openIncidents lists the open incidents.
func (h *Harness) openIncidents() []*klaxon.Incident {
	h.t.Helper()
	code, out := h.Do(http.MethodGet, "/v1/incidents?state=open", nil)
	require.Equal(h.t, http.StatusOK, code, "%s", out)
	var list api.IncidentList
	require.NoError(h.t, json.Unmarshal(out, &list))
	return list.Incidents
}

// Phone is a responder's phone, as the fake Twilio sees it.
type Phone struct {
	h      *Harness
	number string
}

// Phone returns the phone with number.
func (h *Harness) Phone(number string) Phone { return Phone{h, number} }

// ExpectSMS waits for the next SMS to the phone and checks that it
// contains each of parts.
func (p Phone) ExpectSMS(parts ...string) twiliotest.Message {
	p.h.t.Helper()
	m := p.h.Twilio.WaitSMS(p.h.t, p.number)
	for _, s := range parts {
		require.Contains(p.h.t, m.Body, s, "SMS to %s", p.number)
	}
	return m
}

// ExpectCall waits for the next call to the phone.
func (p Phone) ExpectCall() twiliotest.Call {
	p.h.t.Helper()
	return p.h.Twilio.WaitCall(p.h.t, p.number)
}

// Reply texts body from the phone to Klaxon, signed as Twilio signs, and
// returns Klaxon's answer.
func (p Phone) Reply(body string) twiliotest.Response {
	p.h.t.Helper()
	return p.h.Twilio.SendSMS(p.h.t, p.h.URL+twilio.SMSPath, p.number, body)
}

// ExpectMail waits for the next mail and checks that it goes to to.
func (h *Harness) ExpectMail(to string) smtptest.Message {
	h.t.Helper()
	m := h.SMTP.WaitMessage(h.t)
	require.Equal(h.t, []string{to}, m.To)
	return m
}

// console takes the pages of contact methods with no channel.
type console struct {
	mu    sync.Mutex
	taken []klaxon.Page
}

var _ notify.Channel = (*console)(nil)

func (c *console) Send(_ context.Context, p klaxon.Page) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.taken = append(c.taken, p)
	return nil
}

func (c *console) pages() []klaxon.Page {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]klaxon.Page(nil), c.taken...)
}
