package api

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// testPair is a self-signed certificate for localhost and its key, PEM.
type testPair struct {
	cert      *x509.Certificate
	certPEM   []byte
	keyPEM    []byte
	certRoots *x509.CertPool
}

func newTestPair(t testing.TB, serial int64) testPair {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(serial),
		Subject:               pkix.Name{CommonName: "localhost"},
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	keyDER, err := x509.MarshalECPrivateKey(key)
	require.NoError(t, err)
	roots := x509.NewCertPool()
	roots.AddCert(cert)
	return testPair{
		cert:      cert,
		certPEM:   pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		keyPEM:    pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}),
		certRoots: roots,
	}
}

// replace writes body to path as a renewal tool does: a new file renamed
// over the old.
func replace(t testing.TB, path string, body []byte) {
	t.Helper()
	tmp := path + ".new"
	require.NoError(t, os.WriteFile(tmp, body, 0o600))
	require.NoError(t, os.Rename(tmp, path))
}

// fakeClock is a clock the test moves.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// serveTLS accepts TLS connections with cfg on a free port, finishes
// their handshake and closes them, and returns the address.
func serveTLS(t *testing.T, cfg *tls.Config) string {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				_ = c.(*tls.Conn).Handshake()
				_ = c.Close()
			}()
		}
	}()
	return ln.Addr().String()
}

// peer connects to addr trusting roots and returns the server's
// certificate.
func peer(t *testing.T, addr string, roots *x509.CertPool) *x509.Certificate {
	t.Helper()
	c, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: roots, ServerName: "localhost"})
	require.NoError(t, err)
	defer c.Close()
	return c.ConnectionState().PeerCertificates[0]
}

func TestCertificateReload(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	first, second := newTestPair(t, 1), newTestPair(t, 2)
	replace(t, certFile, first.certPEM)
	replace(t, keyFile, first.keyPEM)
	var logs syncBuffer
	clock := &fakeClock{now: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)}
	cert, err := NewCertificate(CertificateOptions{CertFile: certFile, KeyFile: keyFile, Every: time.Minute, Now: clock.Now,
		Log: slog.New(slog.NewTextHandler(&logs, nil))})
	require.NoError(t, err)
	addr := serveTLS(t, cert.Config())

	require.Equal(t, first.cert.Raw, peer(t, addr, first.certRoots).Raw)

	// A new pair is not looked at before Every passes...
	replace(t, certFile, second.certPEM)
	replace(t, keyFile, second.keyPEM)
	clock.Add(time.Minute - time.Nanosecond)
	require.Equal(t, first.cert.Raw, peer(t, addr, first.certRoots).Raw)
	// ...and serves the first connection after.
	clock.Add(time.Nanosecond)
	require.Equal(t, second.cert.Raw, peer(t, addr, second.certRoots).Raw)
	require.Contains(t, logs.String(), `msg="certificate reloaded"`)

	// A pair that does not load keeps the last good one, logged once.
	third := newTestPair(t, 3)
	replace(t, certFile, third.certPEM) // its key not written yet
	for range 3 {
		clock.Add(time.Minute)
		require.Equal(t, second.cert.Raw, peer(t, addr, second.certRoots).Raw)
	}
	require.Equal(t, 1, strings.Count(logs.String(), "reload certificate: the last good one stays"), logs.String())
	require.Contains(t, logs.String(), "private key does not match public key")
	replace(t, keyFile, third.keyPEM)
	clock.Add(time.Minute)
	require.Equal(t, third.cert.Raw, peer(t, addr, third.certRoots).Raw)

	// So does a missing file.
	require.NoError(t, os.Remove(keyFile))
	for range 3 {
		clock.Add(time.Minute)
		require.Equal(t, third.cert.Raw, peer(t, addr, third.certRoots).Raw)
	}
	require.Equal(t, 2, strings.Count(logs.String(), "reload certificate: the last good one stays"), logs.String())
	require.Contains(t, logs.String(), "no such file or directory")
}

func TestCertificateTLS12AtLeast(t *testing.T) {
	dir := t.TempDir()
	p := newTestPair(t, 1)
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	replace(t, certFile, p.certPEM)
	replace(t, keyFile, p.keyPEM)
	cert, err := NewCertificate(CertificateOptions{CertFile: certFile, KeyFile: keyFile, Log: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	addr := serveTLS(t, cert.Config())

	_, err = tls.Dial("tcp", addr, &tls.Config{RootCAs: p.certRoots, ServerName: "localhost", MaxVersion: tls.VersionTLS11})
	require.Error(t, err, "TLS 1.1 refused")
	c, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: p.certRoots, ServerName: "localhost", MaxVersion: tls.VersionTLS12})
	require.NoError(t, err)
	require.Equal(t, uint16(tls.VersionTLS12), c.ConnectionState().Version)
	_ = c.Close()
}

func TestNewCertificateErrors(t *testing.T) {
	dir := t.TempDir()
	a, b := newTestPair(t, 1), newTestPair(t, 2)
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	_, err := NewCertificate(CertificateOptions{CertFile: certFile, KeyFile: keyFile, Log: slog.New(slog.DiscardHandler)})
	require.ErrorContains(t, err, "no such file")
	replace(t, certFile, a.certPEM)
	replace(t, keyFile, b.keyPEM)
	_, err = NewCertificate(CertificateOptions{CertFile: certFile, KeyFile: keyFile, Log: slog.New(slog.DiscardHandler)})
	require.ErrorContains(t, err, "private key does not match public key")
}

// syncBuffer is a bytes.Buffer safe for a logger and a test at once.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
