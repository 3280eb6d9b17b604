package ingest

import (
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
)

// The fuzz targets check, for any body: the decoder does not panic; it
// fails only with a *klaxon.FieldError; on success every alert has a key
// under the integration, a status of firing or resolved, and times that
// JSON can carry (the API answers with them); and decoding the same body
// again gives the same result.
//
//	go test -run='^$' -fuzz=FuzzAlertmanager -fuzztime=15s ./ingest

const fuzzIntegration = "fuzz"

func FuzzAlertmanager(f *testing.F) {
	seedCorpus(f, "alertmanager")
	seedCorpus(f, "grafana")
	f.Add([]byte(`{"version":"1","orgId":1,"alerts":[{"status":"resolved","labels":{"a":"b"},"endsAt":"2026-11-23T23:26:10Z"}]}`))
	f.Add([]byte(`{"alerts":[{"status":"firing","labels":{"a":"b"},"startsAt":"9999-12-31T23:59:59-23:59"}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		alerts, err := DecodeAlertmanager(fuzzIntegration, body)
		checkDecoded(t, alerts, err)
		again, err2 := DecodeAlertmanager(fuzzIntegration, body)
		require.Equal(t, err, err2)
		require.Equal(t, alerts, again)
	})
}

func FuzzDatadog(f *testing.F) {
	seedCorpus(f, "datadog")
	f.Add([]byte(`{"alert_cycle_key":"k","transition":"Triggered","date":"253402300800000"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		alerts, err := DecodeDatadog(fuzzIntegration, body)
		checkDecoded(t, alerts, err)
		again, err2 := DecodeDatadog(fuzzIntegration, body)
		require.Equal(t, err, err2)
		require.Equal(t, alerts, again)
	})
}

func FuzzPagerDuty(f *testing.F) {
	seedCorpus(f, "pagerduty")
	f.Add([]byte(`{"routing_key":"r","event_action":"trigger","payload":{"summary":"s","source":"x","severity":"info","timestamp":"9999-12-31T23:59:59-2359"}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		ev, err := DecodePagerDuty(fuzzIntegration, body)
		if err != nil {
			checkDecoded(t, nil, err)
			require.Equal(t, Event{}, ev)
			return
		}
		checkDecoded(t, []klaxon.Alert{ev.Alert}, nil)
		require.Contains(t, []string{ActionTrigger, ActionAcknowledge, ActionResolve}, ev.Action)
		require.NotEmpty(t, strings.TrimSpace(ev.DedupKey))
		require.Equal(t, klaxon.AlertKey(fuzzIntegration, ev.DedupKey), ev.Alert.Key)

		again, err := DecodePagerDuty(fuzzIntegration, body)
		require.NoError(t, err)
		if again.DedupKey != ev.DedupKey { // generated: new on every trigger
			require.Equal(t, ActionTrigger, ev.Action)
			require.Regexp(t, `^[0-9a-f]{32}$`, again.DedupKey)
			again.DedupKey, again.Alert.Key = ev.DedupKey, ev.Alert.Key
		}
		require.Equal(t, ev, again)
	})
}

// FuzzPagerDutyChange: a change event decodes, or fails with a
// *klaxon.FieldError and nothing; a change decoded has its routing key
// and a summary, holds to its bounds, has a time JSON can carry, and is
// the same decoded again.
func FuzzPagerDutyChange(f *testing.F) {
	seedCorpus(f, "pagerduty-change")
	f.Add([]byte(`{"routing_key":"r","payload":{"summary":"s","timestamp":"9999-12-31T23:59:59-2359"}}`))
	f.Add([]byte(`{"routing_key":"r","payload":{"summary":"s","custom_details":[1]},"links":[{"href":"h"},null]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		ev, err := DecodePagerDutyChange(body)
		if err != nil {
			checkDecoded(t, nil, err)
			require.Equal(t, ChangeEvent{}, ev)
			return
		}
		c := ev.Change
		require.NotEmpty(t, strings.TrimSpace(ev.RoutingKey))
		require.NotEmpty(t, strings.TrimSpace(c.Summary))
		require.LessOrEqual(t, utf8.RuneCountInString(c.Summary), maxSummary)
		require.LessOrEqual(t, len(c.Source), MaxChangeSource)
		require.LessOrEqual(t, len(c.Links), MaxChangeLinks)
		for _, l := range c.Links {
			require.NotEmpty(t, l.Href)
			require.LessOrEqual(t, len(l.Href), MaxChangeHref)
			require.LessOrEqual(t, len(l.Text), MaxChangeText)
		}
		size := 0
		for k, v := range c.Details {
			size += len(k) + len(v)
		}
		require.LessOrEqual(t, size, MaxChangeDetails)
		_, err = c.At.MarshalJSON()
		require.NoError(t, err, "a time the store could not write")
		require.Empty(t, c.Integration)
		require.Empty(t, c.ID)

		again, err := DecodePagerDutyChange(body)
		require.NoError(t, err)
		require.Equal(t, ev, again)
	})
}

func FuzzGeneric(f *testing.F) {
	seedCorpus(f, "generic")
	f.Add([]byte(`{"summary":"disk full","starts_at":"9999-12-31T23:59:59-23:59"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		alerts, err := DecodeGeneric(fuzzIntegration, body)
		checkDecoded(t, alerts, err)
		again, err2 := DecodeGeneric(fuzzIntegration, body)
		require.Equal(t, err, err2)
		require.Equal(t, alerts, again)
	})
}

// checkDecoded asserts the properties every decoder's result has.
func checkDecoded(t *testing.T, alerts []klaxon.Alert, err error) {
	t.Helper()
	if err != nil {
		var fe *klaxon.FieldError
		require.True(t, errors.As(err, &fe), "error %v (%T) is not a FieldError", err, err)
		require.ErrorIs(t, err, klaxon.ErrInvalid)
		require.NotEmpty(t, fe.Msg)
		require.Nil(t, alerts)
		return
	}
	require.NotEmpty(t, alerts)
	for _, a := range alerts {
		require.True(t, strings.HasPrefix(a.Key, fuzzIntegration+"/"), "key %q", a.Key)
		require.Greater(t, len(a.Key), len(fuzzIntegration+"/"), "empty id")
		require.Equal(t, fuzzIntegration, a.Integration)
		require.Contains(t, []klaxon.Status{klaxon.Firing, klaxon.Resolved}, a.Status)
		for _, at := range []time.Time{a.StartsAt, a.EndsAt} {
			_, err := at.MarshalJSON()
			require.NoError(t, err, "a time the API could not write")
		}
	}
}
