package api

import (
	"crypto/sha256"
	"crypto/tls"
	"encoding/binary"
	"fmt"
	"io"
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
// when they change: a handshake reads both files at most once per Every
// and compares a hash of their contents with that of the pair last read,
// so that a renewed certificate serves the next connections without a
// restart, however it was written (renamed into place, a new symlink
// target, or rewritten in place with the same size and modification
// time). A changed pair that does not load, like a certificate written
// before its key, is logged once and the last good pair stays; it is
// tried again as soon as the files change again.
type Certificate struct {
	o   CertificateOptions
	log *slog.Logger

	mu      sync.Mutex
	cert    *tls.Certificate
	sum     [sha256.Size]byte // of the files last loaded, or last tried
	checked time.Time
	failed  string // the last error logged, so that it is logged once
}

// maxPEM bounds a certificate or key file.
const maxPEM = 1 << 20

// NewCertificate loads the pair of files, which must load.
func NewCertificate(o CertificateOptions) (*Certificate, error) {
	if o.Every <= 0 {
		o.Every = DefaultCertCheck
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	c := &Certificate{o: o, log: o.Log.With("component", "tls"), checked: o.Now()}
	sum, certPEM, keyPEM, err := c.read()
	if err != nil {
		return nil, err
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("load certificate %s and key %s: %w", o.CertFile, o.KeyFile, err)
	}
	c.cert, c.sum = &cert, sum
	return c, nil
}

// Config is the TLS configuration of a listener serving c: TLS 1.2 at
// least.
func (c *Certificate) Config() *tls.Config {
	return &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: c.GetCertificate}
}

// GetCertificate returns the pair to serve, read again first if Every
// passed since the files were last looked at and they changed.
func (c *Certificate) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if now := c.o.Now(); now.Sub(c.checked) >= c.o.Every {
		c.checked = now
		c.reload()
	}
	return c.cert, nil
}

// reload loads the files again if their contents changed since they were
// last read.
func (c *Certificate) reload() {
	sum, certPEM, keyPEM, err := c.read()
	if err != nil {
		c.fail(err)
		return
	}
	if sum == c.sum {
		return
	}
	c.sum, c.failed = sum, ""
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
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

// read reads both files and returns them and a hash of the two.
func (c *Certificate) read() (sum [sha256.Size]byte, certPEM, keyPEM []byte, err error) {
	h := sha256.New()
	var files [2][]byte
	for i, name := range []string{c.o.CertFile, c.o.KeyFile} {
		b, err := readPEM(name)
		if err != nil {
			return sum, nil, nil, err
		}
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(b)))
		h.Write(n[:]) // so that a byte moved from one file to the other is a change
		h.Write(b)
		files[i] = b
	}
	h.Sum(sum[:0])
	return sum, files[0], files[1], nil
}

// readPEM reads a certificate or key file of at most maxPEM bytes.
func readPEM(name string) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("read certificate: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxPEM+1))
	if err != nil {
		return nil, fmt.Errorf("read certificate: %w", err)
	}
	if len(b) > maxPEM {
		return nil, fmt.Errorf("read certificate: %s is larger than %d bytes", name, maxPEM)
	}
	return b, nil
}
