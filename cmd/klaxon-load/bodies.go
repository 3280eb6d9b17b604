package main

import (
	"encoding/json"
	"fmt"
	"time"
)

// Formats of the bodies sent.
const (
	// formatWebhook is Alertmanager's webhook (version 4), which Klaxon
	// takes at /v1/ingest/alertmanager.
	formatWebhook = "webhook"
	// formatAlertmanagerAPI is Alertmanager's own POST /api/v2/alerts, a
	// JSON array of alerts, to measure Alertmanager as the peer.
	formatAlertmanagerAPI = "alertmanager-api"
)

// paths is where each format is posted, under --url.
var paths = map[string]string{
	formatWebhook:         "/v1/ingest/alertmanager",
	formatAlertmanagerAPI: "/api/v2/alerts",
}

// layout is the set of distinct alerts a run cycles through.
type layout struct {
	perBody  int // alerts per body
	groups   int // alert groups (alertname, service)
	distinct int // distinct alerts
	spread   bool
}

// group returns the group of alert j. By default the alerts of a group
// are consecutive, so a body holds the alerts of one or a few groups, as
// an Alertmanager webhook holds one Alertmanager group; spread deals them
// out round-robin, so a body touches up to perBody groups.
func (l layout) group(j int) int {
	if l.spread {
		return j % l.groups
	}
	per := (l.distinct + l.groups - 1) / l.groups
	return j / per
}

// startsAt is every alert's start: a body sent again is a repeat of the
// same alerts, not a new occurrence.
var startsAt = time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)

// labels returns the labels of alert j.
func (l layout) labels(j int) map[string]string {
	return map[string]string{
		"alertname": fmt.Sprintf("Load%04d", l.group(j)),
		"service":   "load",
		"instance":  fmt.Sprintf("10.%d.%d.%d:9100", j>>16&255, j>>8&255, j&255),
		"severity":  "warning",
	}
}

// bodies encodes the bodies of one cycle through the distinct alerts:
// body n holds alerts n·perBody … n·perBody+perBody-1, modulo distinct.
func (l layout) bodies(format string) ([][]byte, error) {
	n := (l.distinct + l.perBody - 1) / l.perBody
	out := make([][]byte, n)
	for b := range out {
		idx := make([]int, l.perBody)
		for i := range idx {
			idx[i] = (b*l.perBody + i) % l.distinct
		}
		var err error
		if out[b], err = l.encode(format, idx); err != nil {
			return nil, err
		}
	}
	return out, nil
}

type amAlert struct {
	Status       string            `json:"status,omitempty"`
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       string            `json:"endsAt,omitempty"`
	GeneratorURL string            `json:"generatorURL"`
	Fingerprint  string            `json:"fingerprint,omitempty"`
}

// encode returns the body of alerts idx in format.
func (l layout) encode(format string, idx []int) ([]byte, error) {
	alerts := make([]amAlert, len(idx))
	for i, j := range idx {
		a := amAlert{
			Labels:       l.labels(j),
			Annotations:  map[string]string{"summary": fmt.Sprintf("load alert %d", j)},
			StartsAt:     startsAt,
			GeneratorURL: "http://prometheus:9090/graph?g0.expr=up",
		}
		if format == formatWebhook {
			a.Status, a.EndsAt, a.Fingerprint = "firing", "0001-01-01T00:00:00Z", fmt.Sprintf("%016x", j)
		}
		alerts[i] = a
	}
	switch format {
	case formatWebhook:
		return json.Marshal(map[string]any{
			"version": "4", "status": "firing", "receiver": "klaxon",
			"groupKey": "{}:{}", "truncatedAlerts": 0, "externalURL": "http://alertmanager:9093",
			"groupLabels": map[string]string{}, "commonLabels": map[string]string{"service": "load"},
			"commonAnnotations": map[string]string{}, "alerts": alerts,
		})
	case formatAlertmanagerAPI:
		return json.Marshal(alerts)
	default:
		return nil, fmt.Errorf("unknown format %q", format)
	}
}
