package email

import "crypto/x509"

// SetRootCAs has o trust roots alone for the relay's certificate.
func SetRootCAs(o *Options, roots *x509.CertPool) { o.rootCAs = roots }
