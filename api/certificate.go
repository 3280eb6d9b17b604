package api

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"
)

// DefaultCertCheck is how often a Certificate looks at its files, at most.
const DefaultCertCheck = 5 * time.Second

// CertificateOptions are the files of a Certificate and how it watches
// them.
type CertificateOptions struct {
	// CertFile and KeyFile are PEM files: the certificate (its chain
	// after it) and its private key.
	CertFile, KeyFile string
	Log               *slog.Logger
	// Every is how often, at most, a handshake looks at the files;
	// default DefaultCertCheck.
	Every time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Certificate is a TLS certificate and key read from files, and read again
// when they change: a handshake looks at the files' size, modification
// time and identity (a file replaced by a rename or a new symlink target
// is another file) at most once per Every, so that a renewed certificate
// serves the next connections without a restart. A changed pair that does
// not load, like a certificate written before its key, is logged once and
// the last good pair stays; it is tried again when the files change again.
type Certificate struct {
	o   CertificateOptions
	log *slog.Logger

	mu      sync.Mutex
	cert    *tls.Certificate
	seen    [2]os.FileInfo // the files last loaded, or last tried
	checked time.Time
	failed  string // the last error logged, so that it is logged once
}

// NewCertificate loads the pair of files, which must load.
func NewCertificate(o CertificateOptions) (*Certificate, error) {
	if o.Every <= 0 {
		o.Every = DefaultCertCheck
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	c := &Certificate{o: o, log: o.Log.With("component", "tls"), checked: o.Now()}
	seen, err := c.stat()
	if err != nil {
		return nil, err
	}
	cert, err := tls.LoadX509KeyPair(o.CertFile, o.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("load certificate %s and key %s: %w", o.CertFile, o.KeyFile, err)
	}
	c.cert, c.seen = &cert, seen
	return c, nil
}

// Config is the TLS configuration of a listener serving c: TLS 1.2 at
// least.
func (c *Certificate) Config() *tls.Config {
	return &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: c.GetCertificate}
}

// GetCertificate returns the pair to serve, read again first if the files
// changed and Every passed since they were last looked at.
func (c *Certificate) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if now := c.o.Now(); now.Sub(c.checked) >= c.o.Every {
		c.checked = now
		c.reload()
	}
	return c.cert, nil
}

// reload reads the files again if they changed since they were last read.
func (c *Certificate) reload() {
	seen, err := c.stat()
	if err != nil {
		c.fail(err)
		return
	}
	if same(seen[0], c.seen[0]) && same(seen[1], c.seen[1]) {
		return
	}
	c.seen, c.failed = seen, ""
	cert, err := tls.LoadX509KeyPair(c.o.CertFile, c.o.KeyFile)
	if err != nil {
		c.fail(fmt.Errorf("load certificate and key: %w", err))
		return
	}
	c.cert = &cert
	c.log.Info("certificate reloaded", "cert_file", c.o.CertFile)
}

// fail logs err, unless it is the error logged last.
func (c *Certificate) fail(err error) {
	if err.Error() == c.failed {
		return
	}
	c.failed = err.Error()
	c.log.Error("reload certificate: the last good one stays", "cert_file", c.o.CertFile, "key_file", c.o.KeyFile, "err", err)
}

func (c *Certificate) stat() ([2]os.FileInfo, error) {
	var out [2]os.FileInfo
	for i, name := range []string{c.o.CertFile, c.o.KeyFile} {
		fi, err := os.Stat(name)
		if err != nil {
			return out, fmt.Errorf("read certificate: %w", err)
		}
		out[i] = fi
	}
	return out, nil
}

// same reports whether a and b are the same file, unchanged.
func same(a, b os.FileInfo) bool {
	return os.SameFile(a, b) && a.Size() == b.Size() && a.ModTime().Equal(b.ModTime())
}
