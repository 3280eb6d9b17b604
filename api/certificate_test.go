package api

import (
	"crypto/tls"
	"crypto/x509"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon/internal/fakeclock"
	"github.com/klaxonhq/klaxon/internal/syncbuf"
	"github.com/klaxonhq/klaxon/internal/tlstest"
)

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

// watchCertificate serves TLS from certFile and keyFile, looked at again
// every minute of the fake clock it returns, and logs into the buffer
// it returns.
func watchCertificate(t *testing.T, certFile, keyFile string) (addr string, clock *fakeclock.Clock, logs *syncbuf.Buffer) {
	t.Helper()
	logs = &syncbuf.Buffer{}
	clock = fakeclock.New(time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC))
	cert, err := NewCertificate(CertificateOptions{CertFile: certFile, KeyFile: keyFile, Every: time.Minute, Now: clock.Now,
		Log: slog.New(slog.NewTextHandler(logs, nil))})
	require.NoError(t, err)
	return serveTLS(t, cert.Config()), clock, logs
}

func TestCertificateReload(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	first, second := tlstest.New(t), tlstest.New(t)
	first.Write(t, certFile, keyFile)
	addr, clock, logs := watchCertificate(t, certFile, keyFile)

	require.Equal(t, first.Cert.Raw, peer(t, addr, first.Roots()).Raw)

	// A new pair is not looked at before Every passes...
	second.Write(t, certFile, keyFile)
	clock.Add(time.Minute - time.Nanosecond)
	require.Equal(t, first.Cert.Raw, peer(t, addr, first.Roots()).Raw)
	// ...and serves the first connection after.
	clock.Add(time.Nanosecond)
	require.Equal(t, second.Cert.Raw, peer(t, addr, second.Roots()).Raw)
	require.Contains(t, logs.String(), `msg="certificate reloaded"`)

	// A pair that does not load keeps the last good one, logged once.
	third := tlstest.New(t)
	tlstest.Replace(t, certFile, third.CertPEM) // its key not written yet
	for range 3 {
		clock.Add(time.Minute)
		require.Equal(t, second.Cert.Raw, peer(t, addr, second.Roots()).Raw)
	}
	require.Equal(t, 1, strings.Count(logs.String(), "reload certificate: the last good one stays"), logs.String())
	require.Contains(t, logs.String(), "private key does not match public key")
	tlstest.Replace(t, keyFile, third.KeyPEM)
	clock.Add(time.Minute)
	require.Equal(t, third.Cert.Raw, peer(t, addr, third.Roots()).Raw)

	// So does a missing file.
	require.NoError(t, os.Remove(keyFile))
	for range 3 {
		clock.Add(time.Minute)
		require.Equal(t, third.Cert.Raw, peer(t, addr, third.Roots()).Raw)
	}
	require.Equal(t, 2, strings.Count(logs.String(), "reload certificate: the last good one stays"), logs.String())
	require.Contains(t, logs.String(), "no such file or directory")
}

// TestCertificateRewrittenInPlace: a renewal that rewrites both files in
// place, to the same sizes, within the same modification time (as a
// tool that keeps times, or a file system with coarse times, leaves
// them) is seen by the files' contents; and a pair caught halfway through
// keeps the last good one, and is tried again once the files change.
func TestCertificateRewrittenInPlace(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	first := tlstest.New(t)
	// Pairs whose PEM files are as long as the first's.
	sameSize := func() tlstest.Pair {
		for range 1000 {
			if p := tlstest.New(t); len(p.CertPEM) == len(first.CertPEM) && len(p.KeyPEM) == len(first.KeyPEM) {
				return p
			}
		}
		t.Fatal("no pair of the first's sizes")
		return tlstest.Pair{}
	}
	second, third := sameSize(), sameSize()
	first.Write(t, certFile, keyFile)
	stamp := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	rewrite := func(path string, body []byte) {
		t.Helper()
		require.NoError(t, os.WriteFile(path, body, 0o600)) // the same file, truncated
		require.NoError(t, os.Chtimes(path, stamp, stamp))
	}
	require.NoError(t, os.Chtimes(certFile, stamp, stamp))
	require.NoError(t, os.Chtimes(keyFile, stamp, stamp))
	addr, clock, logs := watchCertificate(t, certFile, keyFile)
	require.Equal(t, first.Cert.Raw, peer(t, addr, first.Roots()).Raw)

	rewrite(certFile, second.CertPEM)
	rewrite(keyFile, second.KeyPEM)
	clock.Add(time.Minute)
	require.Equal(t, second.Cert.Raw, peer(t, addr, second.Roots()).Raw)

	// Halfway: the new certificate, the old key.
	rewrite(certFile, third.CertPEM)
	for range 2 {
		clock.Add(time.Minute)
		require.Equal(t, second.Cert.Raw, peer(t, addr, second.Roots()).Raw)
	}
	require.Equal(t, 1, strings.Count(logs.String(), "reload certificate: the last good one stays"), logs.String())
	rewrite(keyFile, third.KeyPEM)
	clock.Add(time.Minute)
	require.Equal(t, third.Cert.Raw, peer(t, addr, third.Roots()).Raw)
}

func TestCertificateTLS12AtLeast(t *testing.T) {
	dir := t.TempDir()
	p := tlstest.New(t)
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	tlstest.Replace(t, certFile, p.CertPEM)
	tlstest.Replace(t, keyFile, p.KeyPEM)
	cert, err := NewCertificate(CertificateOptions{CertFile: certFile, KeyFile: keyFile, Log: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	addr := serveTLS(t, cert.Config())

	_, err = tls.Dial("tcp", addr, &tls.Config{RootCAs: p.Roots(), ServerName: "localhost", MaxVersion: tls.VersionTLS11})
	require.Error(t, err, "TLS 1.1 refused")
	c, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: p.Roots(), ServerName: "localhost", MaxVersion: tls.VersionTLS12})
	require.NoError(t, err)
	require.Equal(t, uint16(tls.VersionTLS12), c.ConnectionState().Version)
	_ = c.Close()
}

func TestNewCertificateErrors(t *testing.T) {
	dir := t.TempDir()
	a, b := tlstest.New(t), tlstest.New(t)
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	_, err := NewCertificate(CertificateOptions{CertFile: certFile, KeyFile: keyFile, Log: slog.New(slog.DiscardHandler)})
	require.ErrorContains(t, err, "no such file")
	tlstest.Replace(t, certFile, a.CertPEM)
	tlstest.Replace(t, keyFile, b.KeyPEM)
	_, err = NewCertificate(CertificateOptions{CertFile: certFile, KeyFile: keyFile, Log: slog.New(slog.DiscardHandler)})
	require.ErrorContains(t, err, "private key does not match public key")
}
