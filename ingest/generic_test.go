package ingest

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
)

func TestDecodeGeneric(t *testing.T) {
	tests := []struct {
		name string
		body []byte
		want []klaxon.Alert
	}{
		{
			name: "list.json",
			body: readTestdata(t, "generic/list.json"),
			want: []klaxon.Alert{{
				Key: "tools/db-1/disk", Integration: "tools", Status: klaxon.Firing,
				Summary: "disk 95% full on db-1", Severity: "critical", Source: "db-1",
				Labels:      map[string]string{"alertname": "DiskFull", "service": "db"},
				Annotations: map[string]string{"runbook": "https://runbooks.example.com/disk"},
				StartsAt:    utc(t, "2026-11-23T23:26:07Z"),
				URL:         "https://grafana.example.com/d/db",
			}, {
				Key: "tools/" + klaxon.HashFields("cron-2", "backup job late"), Integration: "tools",
				Status: klaxon.Resolved, Summary: "backup job late", Source: "cron-2",
				Labels: map[string]string{"alertname": "BackupLate", "service": "backup"},
			}},
		},
		{
			name: "single.json: no wrapper, status defaults to firing",
			body: readTestdata(t, "generic/single.json"),
			want: []klaxon.Alert{{
				Key: "tools/" + klaxon.HashFields("ci", "deploy of checkout-api failed"), Integration: "tools",
				Status: klaxon.Firing, Summary: "deploy of checkout-api failed", Severity: "warning", Source: "ci",
				Labels: map[string]string{"service": "checkout-api"},
			}},
		},
		{
			name: "resolve.json: by dedup_key alone",
			body: readTestdata(t, "generic/resolve.json"),
			want: []klaxon.Alert{{Key: "tools/db-1/disk", Integration: "tools", Status: klaxon.Resolved, Partial: true}},
		},
		{
			name: "offset time in UTC, field names as encoding/json matches them",
			body: []byte(`{"Summary":"s","starts_at":"2026-11-23T23:26:07.5+01:00"}`),
			want: []klaxon.Alert{{
				Key: "tools/" + klaxon.HashFields("", "s"), Integration: "tools", Status: klaxon.Firing,
				Summary: "s", StartsAt: utc(t, "2026-11-23T22:26:07.5Z"),
			}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeGeneric("tools", tt.body)
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestDecodeGenericErrors(t *testing.T) {
	tests := []struct {
		name string
		body string
		want klaxon.FieldError
	}{
		{"empty list", `{"alerts":[]}`, klaxon.FieldError{Field: "alerts", Msg: "no alerts"}},
		{"alerts an object", `{"alerts":{"summary":"s"}}`,
			klaxon.FieldError{Field: "alerts", Msg: "must be an array, got object"}},
		{"alert a string", `{"alerts":[{"summary":"s"},"s"]}`,
			klaxon.FieldError{Field: "alerts[1]", Msg: "must be an object, got string"}},
		{"empty object", `{}`, klaxon.FieldError{Field: "summary", Msg: "required for a firing alert"}},
		{"summary blank in a list", `{"alerts":[{"summary":"s"},{"summary":" ","status":"firing"}]}`,
			klaxon.FieldError{Field: "alerts[1].summary", Msg: "required for a firing alert"}},
		{"status misspelt", `{"alerts":[{"summary":"s","status":"fring"}]}`,
			klaxon.FieldError{Field: "alerts[0].status", Msg: `must be firing or resolved, got "fring"`}},
		{"status misspelt, no wrapper", `{"summary":"s","status":"open"}`,
			klaxon.FieldError{Field: "status", Msg: `must be firing or resolved, got "open"`}},
		{"resolve with neither summary nor dedup_key", `{"status":"resolved","source":"h"}`,
			klaxon.FieldError{Field: "summary", Msg: "required to resolve without a dedup_key"}},
		{"starts_at not a time", `{"alerts":[{"summary":"s","starts_at":"1795478400"}]}`,
			klaxon.FieldError{Field: "alerts[0].starts_at", Msg: `must be an RFC 3339 time, got "1795478400"`}},
		{"starts_at in the year 10000 in UTC", `{"summary":"s","starts_at":"9999-12-31T23:59:59-23:59"}`,
			klaxon.FieldError{Field: "starts_at", Msg: `must be a time in the years 0 to 9999 in UTC, got "9999-12-31T23:59:59-23:59"`}},
		{"label value a number", `{"alerts":[{"summary":"s","labels":{"a":1}}]}`,
			klaxon.FieldError{Field: "alerts[0].labels", Msg: "must be an object of strings, got number"}},
		{"labels a string, no wrapper", `{"summary":"s","labels":"a=b"}`,
			klaxon.FieldError{Field: "labels", Msg: "must be an object of strings, got string"}},
		{"summary a number, no wrapper", `{"summary":5}`,
			klaxon.FieldError{Field: "summary", Msg: "must be a string, got number"}},
		{"unknown field, no wrapper", `{"summary":"s","sevrity":"critical"}`,
			klaxon.FieldError{Field: "sevrity", Msg: "unknown field; the fields are " + strings.Join(genericFields, ", ")}},
		{"unknown field in a list", `{"alerts":[{"summary":"s"},{"summary":"s","extra":{"a":[1]}}]}`,
			klaxon.FieldError{Field: "alerts[1].extra", Msg: "unknown field; the fields are " + strings.Join(genericFields, ", ")}},
		{"unknown field beside the list", `{"alerts":[{"summary":"s"}],"version":"1"}`,
			klaxon.FieldError{Field: "version", Msg: "unknown field; the fields are alerts"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			alerts, err := DecodeGeneric("tools", []byte(tt.body))
			requireFieldError(t, &tt.want, err)
			require.Nil(t, alerts)
		})
	}
}

func TestDecodeGenericHashIsUnambiguous(t *testing.T) {
	key := func(source, summary string) string {
		alerts, err := DecodeGeneric("tools", []byte(`{"source":"`+source+`","summary":"`+summary+`"}`))
		require.NoError(t, err)
		return alerts[0].Key
	}
	require.NotEqual(t, key("ab", "c"), key("a", "bc"))
	require.Equal(t, key("a", "bc"), key("a", "bc"))
}
