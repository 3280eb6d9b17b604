package email_test

import (
	"crypto/tls"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon/internal/smtptest"
	"github.com/klaxonhq/klaxon/internal/tlstest"
	"github.com/klaxonhq/klaxon/notify/email"
)

// TestSendOverTLS: a page goes to a relay over TLS from the first byte
// (tls, port 465: Klaxon's own dialer, which the page's context can
// close) and over STARTTLS, its certificate checked against the roots
// given (here the test's own, the system's not trusted), and the
// password sent only inside TLS, which the relay requires. A relay whose
// certificate is not trusted gets no mail, and the try is not retried.
func TestSendOverTLS(t *testing.T) {
	pair := tlstest.New(t)
	cert, err := tls.X509KeyPair(pair.CertPEM, pair.KeyPEM)
	require.NoError(t, err)
	server := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	for _, tt := range []struct {
		name     string
		mode     string
		implicit bool
	}{
		{"implicit", email.TLSImplicit, true},
		{"starttls", email.TLSStartTLS, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := smtptest.Start(t, smtptest.Options{Username: "klaxon", Password: "relay-pass", TLS: server, Implicit: tt.implicit})
			for _, host := range []string{"127.0.0.1", "localhost"} {
				o := email.Options{TLS: tt.mode, Username: "klaxon", Password: "relay-pass"}
				email.SetRootCAs(&o, pair.Roots())
				e, _ := newEmailAt(t, host, srv.Port(), o)
				require.NoError(t, e.Send(t.Context(), page), host)
				m := parse(t, srv.WaitMessage(t))
				require.Contains(t, m.text, page.Summary)
			}

			// The system's roots do not know the test's certificate.
			e, _ := newEmailAt(t, srv.Host(), srv.Port(), email.Options{TLS: tt.mode, Username: "klaxon", Password: "relay-pass"})
			err := e.Send(t.Context(), page)
			require.Error(t, err)
			require.ErrorContains(t, err, "certificate")
			var re interface{ Retryable() bool }
			require.ErrorAs(t, err, &re)
			require.False(t, re.Retryable(), "%v", err)
			require.Empty(t, srv.Untaken())
		})
	}
}
