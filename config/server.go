package config

import (
	"net"
	"net/url"
	"strings"
)

// Defaults of klaxon.yaml.
const (
	DefaultListen    = "127.0.0.1:8080"
	DefaultStorePath = "data/klaxon.db"
)

// checkServer defaults and checks listen and public_url.
func (l *loader) checkServer(c *Config) {
	if c.Listen == "" {
		c.Listen = DefaultListen
	}
	host, port, err := net.SplitHostPort(c.Listen)
	if err != nil {
		l.probs.add(l.path, "listen", "bad address %q: want host:port, like 127.0.0.1:8080", c.Listen)
		return
	}
	if c.PublicURL == "" {
		if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
			host = "localhost"
		}
		c.PublicURL = "http://" + net.JoinHostPort(host, port)
		return
	}
	c.PublicURL = strings.TrimSuffix(c.PublicURL, "/")
	if !isHTTPURL(c.PublicURL) {
		l.probs.add(l.path, "public_url", "bad URL %q: want http:// or https:// and a host", c.PublicURL)
	}
}

// isHTTPURL reports whether s is an absolute http or https URL with a host.
func isHTTPURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}
