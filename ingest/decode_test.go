package ingest

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
)

// readTestdata returns the contents of testdata/name.
func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	return b
}

// seedCorpus adds every file in testdata/dir to f's seed corpus.
func seedCorpus(f *testing.F, dir string) {
	f.Helper()
	names, err := filepath.Glob(filepath.Join("testdata", dir, "*.json"))
	require.NoError(f, err)
	require.NotEmpty(f, names)
	for _, name := range names {
		b, err := os.ReadFile(name)
		require.NoError(f, err)
		f.Add(b)
	}
}

// requireFieldError asserts that err is a *klaxon.FieldError equal to want
// and matches klaxon.ErrInvalid.
func requireFieldError(t *testing.T, want *klaxon.FieldError, err error) {
	t.Helper()
	require.ErrorIs(t, err, klaxon.ErrInvalid)
	var fe *klaxon.FieldError
	require.ErrorAs(t, err, &fe)
	require.Equal(t, want, fe)
}

// utc parses an RFC 3339 time into UTC.
func utc(t testing.TB, s string) time.Time {
	t.Helper()
	ts, err := time.Parse(time.RFC3339Nano, s)
	require.NoError(t, err)
	return ts.UTC()
}

func TestJSONErrors(t *testing.T) {
	// Errors that every decoder shares: they come from the JSON layer.
	type decoder func([]byte) error
	decoders := map[string]decoder{
		"alertmanager": func(b []byte) error { _, err := DecodeAlertmanager("am", b); return err },
		"datadog":      func(b []byte) error { _, err := DecodeDatadog("dd", b); return err },
		"pagerduty":    func(b []byte) error { _, err := DecodePagerDuty("pd", b); return err },
		"generic":      func(b []byte) error { _, err := DecodeGeneric("gen", b); return err },
	}
	tests := []struct {
		name string
		body string
		want *klaxon.FieldError
	}{
		{"empty body", ``, &klaxon.FieldError{Msg: "malformed JSON at offset 0: unexpected end of JSON input"}},
		{"truncated", `{"alerts":[`, &klaxon.FieldError{Msg: "malformed JSON at offset 11: unexpected end of JSON input"}},
		{"bad character", `{"a" 1}`, &klaxon.FieldError{Msg: "malformed JSON at offset 6: invalid character '1' after object key"}},
		{"trailing data", `{} {}`, &klaxon.FieldError{Msg: "malformed JSON at offset 4: invalid character '{' after top-level value"}},
		{"array", `[]`, &klaxon.FieldError{Msg: "must be an object, got array"}},
		{"string", `"firing"`, &klaxon.FieldError{Msg: "must be an object, got string"}},
	}
	for name, decode := range decoders {
		for _, tt := range tests {
			t.Run(name+"/"+tt.name, func(t *testing.T) {
				requireFieldError(t, tt.want, decode([]byte(tt.body)))
			})
		}
	}
}

func TestLabelsIDIsUnambiguous(t *testing.T) {
	require.NotEqual(t,
		labelsID(map[string]string{"ab": "c"}),
		labelsID(map[string]string{"a": "bc"}))
	require.NotEqual(t,
		labelsID(map[string]string{"a": "b", "c": ""}),
		labelsID(map[string]string{"a": "", "b": "c"}))
	require.Equal(t,
		klaxon.HashFields("a", "1", "b", "2"),
		labelsID(map[string]string{"b": "2", "a": "1"}))
}
