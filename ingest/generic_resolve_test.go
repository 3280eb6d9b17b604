package ingest_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/ingest"
)

// TestGenericResolveKeepsWhatItDoesNotSay: a generic resolve by
// dedup_key that says why it resolved (a summary) and nothing else of the
// alert keeps the alert's labels, annotations, source, link and summary,
// on both stores, and the timeline tells the resolve's words.
func TestGenericResolveKeepsWhatItDoesNotSay(t *testing.T) {
	for name, open := range stores {
		t.Run(name, func(t *testing.T) {
			st := open(t)
			now := t0
			p := ingest.NewPipeline(st, func() ingest.Router { return oneGroup{} }, nil, func() time.Time { return now })
			fired, err := ingest.DecodeGeneric("gen", []byte(`{"dedup_key": "db-1/disk", "summary": "disk full on db-1",
				"source": "db-1", "url": "https://grafana.example.com/d/db", "labels": {"alertname": "disk", "host": "db-1"},
				"annotations": {"runbook": "https://runbooks.example.com/disk"}}`))
			require.NoError(t, err)
			require.NoError(t, p.Accept(t.Context(), fired))
			group, err := oneGroup{}.Group(&fired[0])
			require.NoError(t, err)
			g, err := st.Group(t.Context(), group, nil)
			require.NoError(t, err)
			require.NotNil(t, g.Open)
			id := g.Open.ID

			now = t0.Add(time.Minute)
			resolved, err := ingest.DecodeGeneric("gen", []byte(`{"dedup_key": "db-1/disk", "status": "resolved",
				"summary": "disk has room again"}`))
			require.NoError(t, err)
			require.NoError(t, p.Accept(t.Context(), resolved))

			alerts, _, err := st.IncidentAlerts(t.Context(), id, "", 10)
			require.NoError(t, err)
			require.Len(t, alerts, 1)
			a := alerts[0]
			require.Equal(t, klaxon.Resolved, a.Status)
			require.Equal(t, map[string]string{"alertname": "disk", "host": "db-1", klaxon.LabelIntegration: "gen"}, a.Labels)
			require.Equal(t, map[string]string{"runbook": "https://runbooks.example.com/disk"}, a.Annotations)
			require.Equal(t, "db-1", a.Source)
			require.Equal(t, "https://grafana.example.com/d/db", a.URL)
			require.Equal(t, "disk full on db-1", a.Summary, "the alert is still what fired")

			events, _, err := st.Timeline(t.Context(), id, 0, 10)
			require.NoError(t, err)
			var told []string
			for _, e := range events {
				if e.Kind == klaxon.EventAlertResolved {
					told = append(told, e.Text)
				}
			}
			require.Equal(t, []string{"disk has room again"}, told)
		})
	}
}

// TestGenericResolveWithoutKeyKeepsDetails: a generic alert sent without
// a dedup_key is the alert of its source and summary, so its resolve
// repeats them, and says nothing else of the alert: as a resolve by
// dedup_key does, it keeps the labels, annotations and link the alert
// fired with, rather than erasing them from the incident's record.
func TestGenericResolveWithoutKeyKeepsDetails(t *testing.T) {
	for name, open := range stores {
		t.Run(name, func(t *testing.T) {
			st := open(t)
			now := t0
			p := ingest.NewPipeline(st, func() ingest.Router { return oneGroup{} }, nil, func() time.Time { return now })
			decode := func(body string) []klaxon.Alert {
				t.Helper()
				alerts, err := ingest.DecodeGeneric("gen", []byte(body))
				require.NoError(t, err)
				return alerts
			}
			require.NoError(t, p.Accept(t.Context(), decode(`{"alerts": [
				{"summary": "disk 95% full", "source": "db-1", "labels": {"alertname": "disk", "team": "db"},
				 "annotations": {"runbook": "https://runbooks.example.com/disk"}, "url": "https://grafana.example.com/d/db"},
				{"dedup_key": "other", "summary": "keeps the incident open", "labels": {"alertname": "disk"}}]}`)))
			now = now.Add(time.Minute)
			require.NoError(t, p.Accept(t.Context(), decode(`{"status": "resolved", "summary": "disk 95% full", "source": "db-1"}`)))

			g, err := st.Group(t.Context(), "gdisk", nil)
			require.NoError(t, err)
			require.NotNil(t, g.Open)
			alerts, _, err := st.IncidentAlerts(t.Context(), g.Open.ID, "", 10)
			require.NoError(t, err)
			key := "gen/" + klaxon.HashFields("db-1", "disk 95% full")
			var got *klaxon.AlertState
			for i := range alerts {
				if alerts[i].Key == key {
					got = &alerts[i]
				}
			}
			require.NotNil(t, got)
			require.Equal(t, klaxon.Resolved, got.Status)
			require.Equal(t, "db", got.Labels["team"], "the resolve erased the alert's labels")
			require.Equal(t, "https://runbooks.example.com/disk", got.Annotations["runbook"], "the resolve erased the alert's annotations")
			require.Equal(t, "https://grafana.example.com/d/db", got.URL, "the resolve erased the alert's link")
		})
	}
}
