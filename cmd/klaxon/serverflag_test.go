package main

import (
	"bytes"
	"testing"

	"github.com/klaxonhq/klaxon/internal/porttest"
	"github.com/stretchr/testify/require"
)

// TestServerCredentialsNotPrintedWhenMalformed: a --server with a user
// and password but no scheme (admin:pw@host:8080, which Go reads as the
// scheme "admin") is refused without its password said.
func TestServerCredentialsNotPrintedWhenMalformed(t *testing.T) {
	for _, server := range []string{
		"ops:s3cret-pass@klaxon.example.com:8080",
		"ftp://ops:s3cret-pass@klaxon.example.com",
		"http://ops:s3cret-pass@klaxon.example.com:80 80",
		"http://ops:s3cret/pass@klaxon.example.com",
	} {
		var out, errOut bytes.Buffer
		err := run(t.Context(), []string{"incidents", "--server", server, "--token", apiToken}, &out, &errOut)
		require.Error(t, err, server)
		require.NotContains(t, err.Error()+errOut.String(), "s3cret", server)
		require.Contains(t, err.Error(), "--server", server)
	}
}

// TestServerPasswordWithHashOrQuestionMarkNotPrinted: a password typed
// in --server as it is, with a # or ? in it (ops:s3cret#pass@host), is
// no URL Go takes (it reads the rest as a fragment or query, and the
// password as a port), and its refusal says it without the password,
// which goes on to the @.
func TestServerPasswordWithHashOrQuestionMarkNotPrinted(t *testing.T) {
	for _, server := range []string{
		"http://ops:s3cret#pass@klaxon.example.com",
		"http://ops:s3cret?pass@klaxon.example.com:8080",
		"ops:s3cret#pass@klaxon.example.com",
	} {
		var out, errOut bytes.Buffer
		err := run(t.Context(), []string{"incidents", "--server", server, "--token", apiToken}, &out, &errOut)
		require.Error(t, err, server)
		require.NotContains(t, err.Error()+errOut.String(), "s3cret", server)
		require.NotContains(t, err.Error()+errOut.String(), "pass@", server)
		require.Contains(t, err.Error(), "klaxon.example.com", "the host stays, to tell which server")
	}
}

// TestServerWithAtInPathNamed: a --server that is a URL with an @ in its
// path (a prefix behind a proxy) and a port is said whole when it does
// not answer: the : of its port is no password's, and the host and port
// are what tells which server; a password in it is hidden all the same.
func TestServerWithAtInPathNamed(t *testing.T) {
	addr := porttest.Refused(t)
	for server, want := range map[string]string{
		"http://" + addr + "/team@ops":                 "http://" + addr + "/team@ops",
		"http://ops:s3cret@" + addr + "/team@ops":      "http://ops:xxxxx@" + addr + "/team@ops",
		"http://" + addr + "/klaxon?owner=ops@example": "http://" + addr + "/klaxon?owner=ops@example",
	} {
		var out, errOut bytes.Buffer
		err := run(t.Context(), []string{"incidents", "--server", server, "--token", apiToken}, &out, &errOut)
		require.Error(t, err, server)
		require.NotContains(t, err.Error()+errOut.String(), "s3cret", server)
		require.Contains(t, err.Error(), "cannot reach the Klaxon server at "+want+" ", server)
	}
}
