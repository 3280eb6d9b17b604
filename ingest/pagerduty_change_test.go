package ingest

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
)

func TestDecodePagerDutyChange(t *testing.T) {
	manyLinks := make([]string, 7)
	for i := range manyLinks {
		manyLinks[i] = `{"href":"https://ci.example.com/` + strconv.Itoa(i) + `"}`
	}
	wantLinks := make([]klaxon.Link, MaxChangeLinks)
	for i := range wantLinks {
		wantLinks[i] = klaxon.Link{Href: "https://ci.example.com/" + strconv.Itoa(i)}
	}
	tests := []struct {
		name string
		body []byte
		want ChangeEvent
	}{
		{
			name: "deploy.json",
			body: readTestdata(t, "pagerduty-change/deploy.json"),
			want: ChangeEvent{RoutingKey: routingKey, Change: klaxon.Change{
				Summary: "Deploy checkout-api 2026.11.23-3 to production",
				Source:  "github-actions",
				At:      utc(t, "2026-11-23T21:52:10Z"),
				Details: map[string]string{"sha": "5f1c9a0", "actor": "bob", "run": "4242", "dry_run": "false"},
				Links: []klaxon.Link{
					{Href: "https://github.com/example/checkout-api/actions/runs/4242", Text: "View run"},
					{Href: "https://github.com/example/checkout-api/pull/731"},
				},
			}},
		},
		{
			name: "minimal.json: no source, time, details nor links",
			body: readTestdata(t, "pagerduty-change/minimal.json"),
			want: ChangeEvent{RoutingKey: routingKey, Change: klaxon.Change{Summary: "Secret rotated: payments-db password"}},
		},
		{
			name: "RFC 3339 timestamp with an offset; custom_details a string; summary of 1024 characters",
			body: []byte(`{"routing_key":"rk","payload":{"summary":"` + strings.Repeat("é", 1024) +
				`","timestamp":"2026-11-23T23:10:00+01:00","custom_details":"rolled back"}}`),
			want: ChangeEvent{RoutingKey: "rk", Change: klaxon.Change{
				Summary: strings.Repeat("é", 1024), At: utc(t, "2026-11-23T22:10:00Z"),
				Details: map[string]string{"custom_details": "rolled back"},
			}},
		},
		{
			name: "an event_action and dedup_key, as an alert's, are ignored",
			body: []byte(`{"routing_key":"rk","event_action":"trigger","dedup_key":"d","payload":{"summary":"s","severity":"critical"}}`),
			want: ChangeEvent{RoutingKey: "rk", Change: klaxon.Change{Summary: "s"}},
		},
		{
			name: "past their bounds: source, href and text cut, links past five dropped",
			body: []byte(`{"routing_key":"rk","payload":{"summary":"s","source":"` + strings.Repeat("h", MaxChangeSource+1) +
				`"},"links":[{"href":"https://x/` + strings.Repeat("a", MaxChangeHref) + `","text":"` + strings.Repeat("t", MaxChangeText+1) + `"},` +
				strings.Join(manyLinks[1:], ",") + `]}`),
			want: ChangeEvent{RoutingKey: "rk", Change: klaxon.Change{
				Summary: "s",
				Source:  cutTo(strings.Repeat("h", MaxChangeSource+1), MaxChangeSource),
				Links: append([]klaxon.Link{{
					Href: cutTo("https://x/"+strings.Repeat("a", MaxChangeHref), MaxChangeHref),
					Text: cutTo(strings.Repeat("t", MaxChangeText+1), MaxChangeText),
				}}, wantLinks[1:]...),
			}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodePagerDutyChange(tt.body)
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
			if l := got.Change.Source; len(l) > 0 {
				require.LessOrEqual(t, len(l), MaxChangeSource)
			}
		})
	}
}

// TestDecodePagerDutyChangeDetailsBound: custom_details past
// MaxChangeDetails keep the shortest first, and count those dropped.
func TestDecodePagerDutyChangeDetailsBound(t *testing.T) {
	fields := []string{`"sha":"5f1c9a0"`}
	for i := range 10 {
		fields = append(fields, `"log`+strconv.Itoa(i)+`":"`+strings.Repeat("x", 1000)+`"`)
	}
	got, err := DecodePagerDutyChange([]byte(`{"routing_key":"rk","payload":{"summary":"s","custom_details":{` + strings.Join(fields, ",") + `}}}`))
	require.NoError(t, err)
	d := got.Change.Details
	require.Equal(t, "5f1c9a0", d["sha"])
	require.Equal(t, "6", d[DroppedDetails], "4 KiB hold the sha and four logs of 1 KB")
	size := 0
	for k, v := range d {
		size += len(k) + len(v)
	}
	require.LessOrEqual(t, size, MaxChangeDetails)
}

func TestDecodePagerDutyChangeErrors(t *testing.T) {
	change := func(payload string) []byte {
		return []byte(`{"routing_key":"rk","payload":` + payload + `}`)
	}
	tests := []struct {
		name string
		body []byte
		want klaxon.FieldError
	}{
		{"invalid-missing-summary.json", readTestdata(t, "pagerduty-change/invalid-missing-summary.json"),
			klaxon.FieldError{Field: "payload.summary", Msg: "is missing or blank"}},
		{"routing_key missing", []byte(`{"payload":{"summary":"s"}}`),
			klaxon.FieldError{Field: "routing_key", Msg: "is missing or blank"}},
		{"routing_key blank", []byte(`{"routing_key":" ","payload":{"summary":"s"}}`),
			klaxon.FieldError{Field: "routing_key", Msg: "is missing or blank"}},
		{"routing_key a number", []byte(`{"routing_key":1,"payload":{"summary":"s"}}`),
			klaxon.FieldError{Field: "routing_key", Msg: "must be a string, got number"}},
		{"payload missing", []byte(`{"routing_key":"rk"}`),
			klaxon.FieldError{Field: "payload.summary", Msg: "is missing or blank"}},
		{"payload a string", change(`"deployed"`),
			klaxon.FieldError{Field: "payload", Msg: "must be an object, got string"}},
		{"summary blank", change(`{"summary":"  "}`),
			klaxon.FieldError{Field: "payload.summary", Msg: "is missing or blank"}},
		{"summary too long", change(`{"summary":"` + strings.Repeat("s", 1025) + `"}`),
			klaxon.FieldError{Field: "payload.summary", Msg: "must be at most 1024 characters, got 1025"}},
		{"source a number", change(`{"summary":"s","source":1}`),
			klaxon.FieldError{Field: "payload.source", Msg: "must be a string, got number"}},
		{"timestamp not a time", change(`{"summary":"s","timestamp":"yesterday"}`),
			klaxon.FieldError{Field: "payload.timestamp", Msg: `must be an ISO 8601 time, got "yesterday"`}},
		{"timestamp in the year 10000 in UTC", change(`{"summary":"s","timestamp":"9999-12-31T23:59:59-2359"}`),
			klaxon.FieldError{Field: "payload.timestamp", Msg: `must be a time in the years 0 to 9999 in UTC, got "9999-12-31T23:59:59-2359"`}},
		{"links an object", []byte(`{"routing_key":"rk","payload":{"summary":"s"},"links":{}}`),
			klaxon.FieldError{Field: "links", Msg: "must be an array, got object"}},
		{"a link without href", []byte(`{"routing_key":"rk","payload":{"summary":"s"},"links":[{"href":"https://x"},{"text":"run"}]}`),
			klaxon.FieldError{Field: "links[1].href", Msg: "is missing or blank"}},
		{"malformed JSON", []byte(`{"routing_key":"rk",`),
			klaxon.FieldError{Msg: "malformed JSON at offset 20: unexpected end of JSON input"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := DecodePagerDutyChange(tt.body)
			requireFieldError(t, &tt.want, err)
			require.Equal(t, ChangeEvent{}, ev)
		})
	}
}

func TestPagerDutyChangeResponses(t *testing.T) {
	_, missing := DecodePagerDutyChange(readTestdata(t, "pagerduty-change/invalid-missing-summary.json"))
	for _, tt := range []struct {
		name string
		resp Response
		want string
	}{
		{"accepted", ChangeAccepted(), `{"status":"success","message":"Change event processed"}`},
		{"invalid event", InvalidEventFrom(missing),
			`{"status":"invalid event","message":"Event object is invalid","errors":["'payload.summary' is missing or blank"]}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b, err := json.Marshal(tt.resp)
			require.NoError(t, err)
			require.Equal(t, tt.want, string(b))
		})
	}
}
