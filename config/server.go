package config

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"reflect"
	"slices"
	"strings"
)

// trustedProxies parses trusted_proxies: addresses and CIDR prefixes.
func (l *loader) trustedProxies(specs []string) []netip.Prefix {
	var out []netip.Prefix
	for i, s := range specs {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			a, aerr := netip.ParseAddr(s)
			if aerr != nil {
				l.probs.add(l.path, fmt.Sprintf("trusted_proxies[%d]", i), "bad address %q: want an IP address or a CIDR prefix, like 10.0.0.0/8", s)
				continue
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		out = append(out, p.Masked())
	}
	return out
}

// Defaults of klaxon.yaml.
const (
	DefaultListen    = "127.0.0.1:8080"
	DefaultStorePath = "data/klaxon.db"
)

// The route groups a listener may serve (see Listener.Serve).
const (
	// ServeIngest is the alert webhooks: /v1/ingest/{source}, /v2/enqueue,
	// and PagerDuty's change events, /v2/change/enqueue.
	ServeIngest = "ingest"
	// ServeTwilio is Twilio's signed callbacks: /v1/twilio/.
	ServeTwilio = "twilio"
	// ServeAck is the acknowledgement links of mail pages: /v1/ack/.
	ServeAck = "ack"
	// ServeAPI is the API for people and the CLI: /v1/incidents,
	// /v1/oncall, /v1/schedules, /v1/users.
	ServeAPI = "api"
	// ServeFeed is the schedules' calendar feeds:
	// /v1/schedules/{name}.ics.
	ServeFeed = "feed"
	// ServeMetrics is /metrics.
	ServeMetrics = "metrics"
	// ServeHealth is /healthz and /readyz.
	ServeHealth = "health"
	// ServeSlack is Slack's signed callbacks: /v1/slack/.
	ServeSlack = "slack"
	// ServeWeb is the web console: / and every path outside /v1/ and
	// /v2/.
	ServeWeb = "web"
)

// ServeGroups are the route groups, in the order the README lists them.
var ServeGroups = []string{ServeIngest, ServeTwilio, ServeAck, ServeAPI, ServeFeed, ServeMetrics, ServeHealth, ServeWeb, ServeSlack}

// Listener is one address Klaxon serves HTTP on.
type Listener struct {
	// Address is host:port.
	Address string `koanf:"address"`
	// TLS, when set, makes the listener serve HTTPS.
	TLS *TLS `koanf:"tls"`
	// Serve are the route groups the listener answers (ServeGroups);
	// every other route answers 404 there. Empty serves every route.
	Serve []string `koanf:"serve"`
}

// Serves reports whether l answers the routes of group.
func (l Listener) Serves(group string) bool {
	return len(l.Serve) == 0 || slices.Contains(l.Serve, group)
}

type servedKey struct{}

// WithServed returns ctx for a request taken by a listener that serves
// the route groups set in serve (all of them when serve is nil).
func WithServed(ctx context.Context, serve map[string]bool) context.Context {
	return context.WithValue(ctx, servedKey{}, serve)
}

// Served reports whether the listener that took the request of ctx
// serves group: an API token is good only where the API is served, so
// that a listener without it (a public one) takes none.
func Served(ctx context.Context, group string) bool {
	serve, ok := ctx.Value(servedKey{}).(map[string]bool)
	return !ok || serve == nil || serve[group]
}

// TLS names the certificate and key of a listener, PEM files; Load makes
// them absolute and checks that they load as a pair.
type TLS struct {
	CertFile string `koanf:"cert_file"`
	KeyFile  string `koanf:"key_file"`
}

// listenSpec is listen as written: one address, to which the top-level tls
// applies, or a list of listeners.
type listenSpec struct {
	short string
	list  []Listener
	isSet bool // a list was written, maybe an empty one
	bad   bool // the list did not decode; its problems are recorded
}

func (s *listenSpec) decodeFrom(d *decoder, path string, in any) {
	if str, ok := in.(string); ok {
		if str, ok = d.expand(path, str); ok {
			*s = listenSpec{short: str}
		}
		return
	}
	if _, ok := in.([]any); !ok {
		d.probs.add(d.file, path, "expected an address like 127.0.0.1:8080 or a list of listeners, got %s", kind(in))
		return
	}
	n := d.probs.count()
	*s = listenSpec{isSet: true}
	d.decode(path, in, reflect.ValueOf(&s.list).Elem())
	s.bad = d.probs.count() > n
}

// checkServer defaults and checks listen, tls and public_url.
func (l *loader) checkServer(c *Config, f *file) {
	// at names a key of listener i: in the short form, listen is the
	// address and tls is the top-level one.
	at := func(i int, key string) string { return fmt.Sprintf("listen[%d].%s", i, key) }
	if f.Listen.isSet {
		c.Listen = f.Listen.list
		if f.Listen.bad {
			return
		}
		if f.TLS != nil {
			l.probs.add(l.path, "tls", "applies only to listen given as one address; with a list of listeners, give each its own tls")
		}
		if len(c.Listen) == 0 {
			l.probs.add(l.path, "listen", "empty: want an address like 127.0.0.1:8080 or at least one listener")
		}
	} else {
		addr := f.Listen.short
		if addr == "" {
			addr = DefaultListen
		}
		c.Listen = []Listener{{Address: addr, TLS: f.TLS}}
		at = func(_ int, key string) string {
			if key == "address" {
				return "listen"
			}
			return key
		}
	}
	ok := true
	for i := range c.Listen {
		ok = l.checkListener(&c.Listen[i], func(key string) string { return at(i, key) }) && ok
	}
	for i, a := range c.Listen {
		for j := range i {
			if ok && sameAddress(a.Address, c.Listen[j].Address) {
				l.probs.add(l.path, at(i, "address"), "%s is also the address of listen[%d]", a.Address, j)
			}
		}
	}
	if !ok || len(c.Listen) == 0 {
		return
	}
	l.listenOK = true
	for i := range c.Listen {
		c.listenKeys = append(c.listenKeys, strings.TrimSuffix(at(i, "address"), ".address"))
	}
	if c.PublicURL == "" {
		c.PublicURL = defaultPublicURL(c.Listen)
		return
	}
	c.PublicURL = strings.TrimSuffix(c.PublicURL, "/")
	if !isHTTPURL(c.PublicURL) {
		l.probs.add(l.path, "public_url", "bad URL %q: want http:// or https:// and a host", c.PublicURL)
	}
}

// checkListener checks one listener, whose keys at names, and makes its
// TLS files absolute; it reports whether the address is good.
func (l *loader) checkListener(ln *Listener, at func(key string) string) bool {
	ok := true
	if ln.Address == "" {
		l.probs.add(l.path, at("address"), "required: host:port, like 127.0.0.1:8080")
		ok = false
	} else if _, _, err := net.SplitHostPort(ln.Address); err != nil {
		l.probs.add(l.path, at("address"), "bad address %q: want host:port, like 127.0.0.1:8080", ln.Address)
		ok = false
	}
	if ln.Serve != nil && len(ln.Serve) == 0 {
		l.probs.add(l.path, at("serve"), "empty: leave serve out to serve every route")
	}
	for i, g := range ln.Serve {
		if !slices.Contains(ServeGroups, g) {
			l.probs.add(l.path, fmt.Sprintf("%s[%d]", at("serve"), i), "unknown route group %q: want one of %s", g, strings.Join(ServeGroups, ", "))
		}
	}
	if ln.TLS != nil {
		l.checkTLS(ln.TLS, at("tls"))
	}
	return ok
}

// checkTLS makes the files of t absolute and, unless the loader is told
// not to read them (Reload), checks that they load as a certificate and
// its key.
func (l *loader) checkTLS(t *TLS, path string) {
	files := true
	var pem [2][]byte // the certificate's and the key's, as read
	for i, f := range []struct {
		key  string
		name *string
	}{{"cert_file", &t.CertFile}, {"key_file", &t.KeyFile}} {
		if *f.name == "" {
			l.probs.add(l.path, path+"."+f.key, "required: a PEM file")
			files = false
			continue
		}
		shown := l.shown(*f.name)
		*f.name = l.abs(*f.name)
		if !l.tlsFiles {
			continue
		}
		b, err := readFile(*f.name, shown)
		if err != nil {
			l.probs.add(l.path, path+"."+f.key, "%v", err)
			files = false
		}
		pem[i] = b
	}
	if !files || !l.tlsFiles {
		return
	}
	if _, err := tls.X509KeyPair(pem[0], pem[1]); err != nil {
		l.probs.add(l.path, path, "load certificate and key: %v", err)
	}
}

// checkCallbacks records notify.twilio when no listener serves Twilio's
// callbacks: a call answered would fetch its words from none, so no voice
// page could ever be heard, and no reply, key press or delivery report
// would reach Klaxon.
func (l *loader) checkCallbacks(c *Config) {
	if c.Notify.Twilio == nil || !l.listenOK || servedBy(c.Listen, ServeTwilio) {
		return
	}
	l.probs.add(l.path, "notify.twilio", "no listener serves twilio, so Twilio could fetch no call's words (no voice page would be heard) and deliver no SMS reply, key press or delivery report: add twilio to the serve of the listener that public_url reaches")
}

// servedBy reports whether one of ls serves group.
func servedBy(ls []Listener, group string) bool {
	for _, ln := range ls {
		if ln.Serves(group) {
			return true
		}
	}
	return false
}

// listenWarnings are what Warnings says of the listeners, in this order:
//
//   - for each listener, in listen's order, that serves /metrics on an
//     address other than loopback while api.metrics_token is unset;
//   - api.metrics_token, when it is also an API, feed or integration
//     token;
//   - notify.smtp, when no listener serves the mail links (ack);
//   - api.feed_tokens, when no listener serves the calendar feeds (feed).
func (c *Config) listenWarnings() []Warning {
	var ws []Warning
	add := func(path, format string, args ...any) {
		ws = append(ws, Warning{File: c.file, Path: path, Msg: fmt.Sprintf(format, args...)})
	}
	if c.API.MetricsToken == "" {
		for i, ln := range c.Listen {
			if ln.Serves(ServeMetrics) && i < len(c.listenKeys) && !loopback(ln.Address) {
				add(c.listenKeys[i], "serves /metrics on %s, beyond this machine, and api.metrics_token is unset: anyone who reaches it reads the metrics; set api.metrics_token, or serve metrics on a loopback listener only", ln.Address)
			}
		}
	}
	if m := c.API.MetricsToken; m != "" {
		var also string
		for i, t := range c.API.Tokens {
			if also == "" && equal(t.Token, m) {
				also = fmt.Sprintf("the token of api.tokens[%d]", i)
			}
		}
		for i, t := range c.API.FeedTokens {
			if also == "" && equal(t.Token, m) {
				also = fmt.Sprintf("the token of api.feed_tokens[%d]", i)
			}
		}
		for i, in := range c.Integrations {
			if also == "" && equal(in.Token, m) {
				also = fmt.Sprintf("the token of integrations[%d]", i)
			}
		}
		for _, t := range c.WebTokens {
			if also == "" && equal(t.Token, m) {
				also = "the web_token of user " + t.User
			}
		}
		if also != "" {
			add("api.metrics_token", "same as %s: a scraper's token, which sits in its config, should open /metrics and nothing else; give it one of its own", also)
		}
	}
	if c.Notify.SMTP != nil && !servedBy(c.Listen, ServeAck) {
		add("notify.smtp", "no listener serves ack, so the acknowledge and resolve links in mail pages answer 404: add ack to the serve of the listener that public_url reaches")
	}
	if len(c.API.FeedTokens) > 0 && !servedBy(c.Listen, ServeFeed) {
		add("api.feed_tokens", "no listener serves feed, so no calendar app can read a schedule's feed: add feed to a listener's serve (it was part of api before)")
	}
	return ws
}

// loopback reports whether the listen address addr is reachable from
// this machine only: localhost or a loopback IP.
func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// sameAddress reports whether two listen addresses take the same port: the
// same host, or one of them every host. Port 0 picks a free port, never
// the same one.
func sameAddress(a, b string) bool {
	ha, pa, _ := net.SplitHostPort(a)
	hb, pb, _ := net.SplitHostPort(b)
	if pa != pb || pa == "0" {
		return false
	}
	return ha == hb || everyHost(ha) || everyHost(hb)
}

// defaultPublicURL is the URL of the first listener that serves Twilio's
// callbacks or the ack links, else of the first: https with TLS, and
// localhost for an address without a host or an unspecified one.
func defaultPublicURL(ls []Listener) string {
	ln := ls[0]
	for _, c := range ls {
		if c.Serves(ServeTwilio) || c.Serves(ServeAck) {
			ln = c
			break
		}
	}
	host, port, _ := net.SplitHostPort(ln.Address)
	if everyHost(host) {
		host = "localhost"
	}
	scheme := "http://"
	if ln.TLS != nil {
		scheme = "https://"
	}
	return scheme + net.JoinHostPort(host, port)
}

// everyHost reports whether host, of a listen address, means every address
// of the machine.
func everyHost(host string) bool {
	ip := net.ParseIP(host)
	return host == "" || ip != nil && ip.IsUnspecified()
}

// isHTTPURL reports whether s is an absolute http or https URL with a host.
func isHTTPURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}
