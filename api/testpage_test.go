package api

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestTestPageBodyTooLarge: a test page's body over its limit is a 413,
// as every body over its limit is, not a 400 "bad body".
func TestTestPageBodyTooLarge(t *testing.T) {
	s, _ := testServer(t)
	code, body := call(s, http.MethodPost, "/v1/users/alice/test-page", actToken, `{"via":"`+strings.Repeat("a", 5000)+`"}`)
	require.Equal(t, http.StatusRequestEntityTooLarge, code, body)
}

// TestTestPageUnknownField: a test page's field it does not take is a
// 400 naming it, as every request's is: a mistyped "via" would send a
// test page by each of the user's contact methods.
func TestTestPageUnknownField(t *testing.T) {
	s, _ := testServer(t)
	code, body := call(s, http.MethodPost, "/v1/users/alice/test-page", actToken, `{"vai":"sms"}`)
	require.Equal(t, http.StatusBadRequest, code, body)
	require.Equal(t, "vai", errorOf(t, body).Field)
}
