package main

import (
	"bytes"
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
	// formatPagerDuty is one PagerDuty Events API v2 trigger event, which
	// Klaxon takes at /v2/enqueue; the token is its routing_key.
	formatPagerDuty = "pagerduty"
)

// paths is where each format is posted, under --url.
var paths = map[string]string{
	formatWebhook:         "/v1/ingest/alertmanager",
	formatAlertmanagerAPI: "/api/v2/alerts",
	formatPagerDuty:       "/v2/enqueue",
}

// pathOf returns where bodies of format are posted, under --url.
func pathOf(format string) (string, error) {
	path, ok := paths[format]
	if !ok {
		return "", fmt.Errorf("--format %q: want %s, %s or %s", format, formatWebhook, formatAlertmanagerAPI, formatPagerDuty)
	}
	return path, nil
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

// startsAt is every alert's start in the first cycle: a body sent again
// is a repeat of the same alerts, not a new occurrence, unless the run
// stamps each cycle (see occurrence).
var startsAt = time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)

// stampLayout writes a start with a fixed length, so that a later
// cycle's start can take its place in an encoded body byte for byte.
const stampLayout = "2006-01-02T15:04:05.000Z"

// stamp is the start of the alerts in cycle c: a millisecond later each
// cycle, so that every cycle is a new occurrence of every alert and stays
// in the past for as long as any run lasts.
func stamp(c int) string {
	return startsAt.Add(time.Duration(c) * time.Millisecond).Format(stampLayout)
}

// labels returns the labels of alert j.
func (l layout) labels(j int) map[string]string {
	return map[string]string{
		"alertname": fmt.Sprintf("Load%04d", l.group(j)),
		"service":   "load",
		"instance":  instance(j),
		"severity":  "warning",
	}
}

func instance(j int) string {
	return fmt.Sprintf("10.%d.%d.%d:9100", j>>16&255, j>>8&255, j&255)
}

// body is an encoded body and where in it the alerts' start is written,
// so that a cycle's start can be written over it (see occurrence).
type body struct {
	data   []byte
	starts []int // offsets of stamp(0)
}

// bodies encodes the bodies of one cycle through the distinct alerts:
// body n holds alerts n·perBody … n·perBody+perBody-1, modulo distinct.
func (l layout) bodies(format, token string) ([]body, error) {
	n := (l.distinct + l.perBody - 1) / l.perBody
	out := make([]body, n)
	for b := range out {
		idx := make([]int, l.perBody)
		for i := range idx {
			idx[i] = (b*l.perBody + i) % l.distinct
		}
		data, err := l.encode(format, token, idx)
		if err != nil {
			return nil, err
		}
		out[b] = body{data: data, starts: offsets(data, []byte(stamp(0)))}
	}
	return out, nil
}

// offsets returns where sub starts in data, each occurrence.
func offsets(data, sub []byte) []int {
	var at []int
	for from := 0; ; {
		i := bytes.Index(data[from:], sub)
		if i < 0 {
			return at
		}
		at = append(at, from+i)
		from += i + len(sub)
	}
}

// occurrence writes b into dst as cycle c sends it: the same alerts,
// started at stamp(c). It reuses dst's memory and returns it.
func (b body) occurrence(dst []byte, c int) []byte {
	dst = append(dst[:0], b.data...)
	s := stamp(c)
	for _, at := range b.starts {
		copy(dst[at:], s)
	}
	return dst
}

type amAlert struct {
	Status       string            `json:"status,omitempty"`
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     string            `json:"startsAt"`
	EndsAt       string            `json:"endsAt,omitempty"`
	GeneratorURL string            `json:"generatorURL"`
	Fingerprint  string            `json:"fingerprint,omitempty"`
}

// pdEvent is a PagerDuty Events API v2 trigger.
type pdEvent struct {
	RoutingKey  string    `json:"routing_key"`
	EventAction string    `json:"event_action"`
	DedupKey    string    `json:"dedup_key"`
	Payload     pdPayload `json:"payload"`
}

type pdPayload struct {
	Summary   string `json:"summary"`
	Source    string `json:"source"`
	Severity  string `json:"severity"`
	Group     string `json:"group"`
	Timestamp string `json:"timestamp"`
}

// encode returns the body of alerts idx in format.
func (l layout) encode(format, token string, idx []int) ([]byte, error) {
	if format == formatPagerDuty {
		if len(idx) != 1 {
			return nil, fmt.Errorf("a PagerDuty event holds one alert, not %d", len(idx))
		}
		j := idx[0]
		return json.Marshal(pdEvent{
			RoutingKey: token, EventAction: "trigger", DedupKey: fmt.Sprintf("load-%d", j),
			Payload: pdPayload{
				Summary: fmt.Sprintf("load alert %d", j), Source: instance(j), Severity: "warning",
				Group: fmt.Sprintf("g%d", l.group(j)), Timestamp: stamp(0),
			},
		})
	}
	alerts := make([]amAlert, len(idx))
	for i, j := range idx {
		a := amAlert{
			Labels:       l.labels(j),
			Annotations:  map[string]string{"summary": fmt.Sprintf("load alert %d", j)},
			StartsAt:     stamp(0),
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
