package ingest

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"

	"github.com/klaxonhq/klaxon"
)

// genericFields are the JSON names of genericAlert's fields.
var genericFields = []string{"dedup_key", "status", "summary", "severity", "source", "labels", "annotations", "url", "starts_at"}

// genericAlert is one alert in the generic format: see DecodeGeneric.
type genericAlert struct {
	DedupKey    string            `json:"dedup_key"`
	Status      string            `json:"status"`
	Summary     string            `json:"summary"`
	Severity    string            `json:"severity"`
	Source      string            `json:"source"`
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
	URL         string            `json:"url"`
	StartsAt    string            `json:"starts_at"`
}

// DecodeGeneric decodes a body in Klaxon's generic event format, for tools
// that have no integration of their own (POST /v1/ingest/generic). A body
// is a list of alerts:
//
//	{
//	  "alerts": [
//	    {
//	      "dedup_key":   "db-1/disk",             // optional, see below
//	      "status":      "firing",                // firing (default) or resolved
//	      "summary":     "disk 95% full on db-1", // required when firing
//	      "severity":    "critical",              // optional, free text
//	      "source":      "db-1",                  // optional: host, service, tool
//	      "labels":      {"service": "db"},       // optional, used for routing
//	      "annotations": {"runbook": "https://runbooks.example.com/disk"},
//	      "url":         "https://grafana.example.com/d/db",
//	      "starts_at":   "2026-11-23T23:26:07Z"   // optional, RFC 3339
//	    }
//	  ]
//	}
//
// or one alert object on its own, without the "alerts" wrapper. An
// unknown field is refused, named by its path ("alerts[0].sevrity"), so
// that a typo never drops what the sender meant. An alert is identified by its dedup_key; without one,
// by a hash of source and summary, so a resolve must repeat them (or give
// the dedup_key). A list must hold at least one alert.
func DecodeGeneric(integration string, body []byte) ([]klaxon.Alert, error) {
	var b struct {
		Alerts *[]genericAlert `json:"alerts"`
	}
	if err := decodeAlerts[genericAlert](body, &b); err != nil {
		return nil, err
	}
	if b.Alerts == nil { // one alert, no wrapper
		var in genericAlert
		if err := decodeJSON(body, &in); err != nil {
			return nil, err
		}
		if err := knownFields(body, "", genericFields); err != nil {
			return nil, err
		}
		a, err := in.alert(integration, -1)
		if err != nil {
			return nil, err
		}
		one := []klaxon.Alert{a}
		if err := bound(one, onePath); err != nil {
			return nil, err
		}
		return one, nil
	}
	if len(*b.Alerts) == 0 {
		return nil, klaxon.Invalid("alerts", "no alerts")
	}
	if err := knownFields(body, "", []string{"alerts"}); err != nil {
		return nil, err
	}
	var raw struct {
		Alerts []json.RawMessage `json:"alerts"`
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		return nil, jsonError("", reflect.TypeOf(raw), err)
	}
	for i, a := range raw.Alerts {
		if err := knownFields(a, index("alerts", i, ""), genericFields); err != nil {
			return nil, err
		}
	}
	alerts := make([]klaxon.Alert, 0, len(*b.Alerts))
	for i := range *b.Alerts {
		a, err := (*b.Alerts)[i].alert(integration, i)
		if err != nil {
			return nil, err
		}
		alerts = append(alerts, a)
	}
	if err := bound(alerts, listPath); err != nil {
		return nil, err
	}
	return alerts, nil
}

// alert normalises the i-th generic alert of a list, or with i < 0 the
// alert that is the whole body.
func (in *genericAlert) alert(integration string, i int) (klaxon.Alert, error) {
	path := func(field string) string {
		if i < 0 {
			return field
		}
		return index("alerts", i, field)
	}
	var status klaxon.Status
	switch in.Status {
	case "", "firing":
		status = klaxon.Firing
	case "resolved":
		status = klaxon.Resolved
	default:
		return klaxon.Alert{}, klaxon.Invalid(path("status"),
			"must be firing or resolved, got %q", in.Status)
	}
	if blank(in.Summary) {
		switch {
		case status == klaxon.Firing:
			return klaxon.Alert{}, klaxon.Invalid(path("summary"), "required for a firing alert")
		case in.DedupKey == "":
			return klaxon.Alert{}, klaxon.Invalid(path("summary"), "required to resolve without a dedup_key")
		}
	}
	starts, ok := parseTime(in.StartsAt)
	if !ok {
		return klaxon.Alert{}, badTime(path("starts_at"), in.StartsAt)
	}
	id := in.DedupKey
	if id == "" {
		id = klaxon.HashFields(in.Source, in.Summary)
	}
	return klaxon.Alert{
		Key:         klaxon.AlertKey(integration, id),
		Integration: integration,
		Status:      status,
		Summary:     in.Summary,
		Severity:    in.Severity,
		Source:      in.Source,
		Labels:      in.Labels,
		Annotations: in.Annotations,
		StartsAt:    starts,
		URL:         in.URL,
		// A resolve that says none of the alert's details (by dedup_key,
		// with at most a summary that says why, or a severity; without
		// one, by the source and summary that name it) keeps those it
		// fired with; its summary goes to the timeline.
		Partial: status == klaxon.Resolved && (in.Source == "" || in.DedupKey == "") &&
			len(in.Labels) == 0 && len(in.Annotations) == 0 && in.URL == "" && in.StartsAt == "",
	}, nil
}

// knownFields refuses an object, at JSON path prefix, with a key that none
// of names matches as encoding/json matches them (case aside).
func knownFields(obj []byte, prefix string, names []string) error {
	var m map[string]json.RawMessage
	if json.Unmarshal(obj, &m) != nil {
		return nil // not an object: the decoder said what was wrong
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if !slices.ContainsFunc(names, func(n string) bool { return strings.EqualFold(n, k) }) {
			return klaxon.Invalid(join(prefix, k), "unknown field; the fields are %s", strings.Join(names, ", "))
		}
	}
	return nil
}
