package ingest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// readerCase is a body at the edge of what a reader handles: it must come
// out as encoding/json decodes it, or be handed to encoding/json.
type readerCase struct {
	body  string
	takes bool // the reader decodes it itself
}

// readerCases are the Alertmanager webhook's.
var readerCases = map[string]readerCase{
	"plain":                {`{"version":"4","alerts":[{"status":"firing","labels":{"a":"b"}}]}`, true},
	"whitespace":           {" \t\r\n{ \"alerts\" : [ { \"status\" : \"firing\" , \"labels\" : { } } ] } \n", true},
	"unknown members":      {`{"receiver":"x","truncatedAlerts":0,"groupLabels":{"a":[1,-2.5e+3,true,false,null,{"b":"\u00e9"}]},"alerts":[]}`, true},
	"escapes":              {`{"alerts":[{"labels":{"a":"line\nbreak \"quoted\" \u00e9 \ud83d\ude00"}}]}`, true},
	"utf-8":                {`{"alerts":[{"annotations":{"summary":"Überlast ✓"}}]}`, true},
	"invalid utf-8":        {"{\"alerts\":[{\"labels\":{\"a\":\"\xff\"}}]}", true},
	"null fields":          {`{"version":null,"alerts":[{"status":null,"labels":null,"annotations":null}]}`, true},
	"null alerts":          {`{"alerts":null}`, true},
	"grafana orgId":        {`{"version":"1","orgId": 1 ,"alerts":[]}`, true},
	"orgId null":           {`{"orgId":null}`, true},
	"duplicate label":      {`{"alerts":[{"labels":{"a":"1","a":"2"}}]}`, true},
	"duplicate field":      {`{"alerts":[{"labels":{"a":"1"},"labels":{"b":"2"}}]}`, false},
	"duplicate top field":  {`{"version":"4","version":"5"}`, false},
	"case folded field":    {`{"Alerts":[{"status":"firing"}]}`, false},
	"case folded in alert": {`{"alerts":[{"Status":"firing"}]}`, false},
	"kelvin sign key":      {"{\"alerts\":[{\"labels\":{\"\u212a\":\"v\"}}]}", false},
	"escaped key":          {`{"alerts":[{"st\u0061tus":"firing"}]}`, false},
	"null label value":     {`{"alerts":[{"labels":{"a":null}}]}`, false},
	"null alert":           {`{"alerts":[null]}`, false},
	"number for string":    {`{"alerts":[{"status":1}]}`, false},
	"bad escape":           {`{"alerts":[{"status":"\x"}]}`, false},
	"control character":    {"{\"alerts\":[{\"status\":\"a\tb\"}]}", false},
	"trailing data":        {`{"alerts":[]} {}`, false},
	"trailing comma":       {`{"alerts":[],}`, false},
	"bad number":           {`{"x":01,"alerts":[]}`, false},
	"top-level array":      {`[]`, false},
	"top-level null":       {`null`, false},
	"unterminated":         {`{"alerts":[{"status":"firing"`, false},
	"deep":                 {`{"x":` + nest(100) + `}`, false},
}

func nest(n int) string {
	s := "0"
	for range n {
		s = "[" + s + "]"
	}
	return s
}

func TestReaderDecodesAsEncodingJSON(t *testing.T) {
	checkReaderCases(t, readerCases, readAlertmanager)
}

// TestReaderTakesRealBodies: the bodies Alertmanager and Grafana
// Alerting send take the fast path.
func TestReaderTakesRealBodies(t *testing.T) {
	checkReaderTakes(t, "alertmanager", readAlertmanager)
	checkReaderTakes(t, "grafana", readAlertmanager)
}

// checkReaderCases checks read, a reader of T, against encoding/json on
// cases.
func checkReaderCases[T any](t *testing.T, cases map[string]readerCase, read func([]byte) (T, bool)) {
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, ok := read([]byte(tc.body))
			require.Equal(t, tc.takes, ok, "reader takes the body")
			if ok {
				var want T
				require.NoError(t, json.Unmarshal([]byte(tc.body), &want))
				require.Equal(t, want, got)
			}
		})
	}
}

// checkReaderTakes checks that read takes each body of testdata/dir and
// decodes it as encoding/json does.
func checkReaderTakes[T any](t *testing.T, dir string, read func([]byte) (T, bool)) {
	names, err := filepath.Glob(filepath.Join("testdata", dir, "*.json"))
	require.NoError(t, err)
	require.NotEmpty(t, names)
	for _, name := range names {
		body, err := os.ReadFile(name)
		require.NoError(t, err)
		got, ok := read(body)
		require.True(t, ok, name)
		var want T
		require.NoError(t, json.Unmarshal(body, &want))
		require.Equal(t, want, got, name)
	}
}

// fuzzReader holds read to encoding/json: whatever body it decodes,
// encoding/json decodes without error into the same value.
func fuzzReader[T any](f *testing.F, read func([]byte) (T, bool)) {
	f.Fuzz(func(t *testing.T, body []byte) {
		got, ok := read(body)
		if !ok {
			return
		}
		var want T
		require.NoError(t, json.Unmarshal(body, &want), "the reader took a body encoding/json refuses")
		require.Equal(t, want, got)
	})
}

// FuzzAlertmanagerReader holds the reader to encoding/json: whatever body
// it decodes, encoding/json decodes without error into the same value.
//
//	go test -run='^$' -fuzz=FuzzAlertmanagerReader -fuzztime=30s ./ingest
func FuzzAlertmanagerReader(f *testing.F) {
	seedCorpus(f, "alertmanager")
	seedCorpus(f, "grafana")
	for _, tc := range readerCases {
		f.Add([]byte(tc.body))
	}
	f.Add(alertmanagerBody(3))
	fuzzReader(f, readAlertmanager)
}
