package ingest

import (
	"bytes"
	"encoding/json"
	"strconv"

	"github.com/klaxonhq/klaxon"
)

// amPayload is the body of Alertmanager's webhook (version 4), which
// Grafana Alerting's webhook contact point extends. Fields Klaxon does not
// use (receiver, groupLabels, notification_reason, routeLabels, Grafana's
// title, message, ruleUID...) are ignored.
type amPayload struct {
	Version     string          `json:"version"`
	ExternalURL string          `json:"externalURL"`
	Alerts      []amAlert       `json:"alerts"`
	OrgID       json.RawMessage `json:"orgId"` // Grafana only
	// Truncated counts the alerts the sender left out of the body, its
	// max alerts reached; read leniently (see leftOut): only counted,
	// it refuses no body.
	Truncated json.RawMessage `json:"truncatedAlerts"`
}

type amAlert struct {
	Status       string            `json:"status"`
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     string            `json:"startsAt"`
	EndsAt       string            `json:"endsAt"`
	GeneratorURL string            `json:"generatorURL"`
	Fingerprint  string            `json:"fingerprint"`
	// Grafana Alerting's links, the values of its query and its
	// screenshot of the panel, kept as annotations (see
	// grafanaAnnotations).
	SilenceURL   string          `json:"silenceURL"`
	DashboardURL string          `json:"dashboardURL"`
	PanelURL     string          `json:"panelURL"`
	Values       json.RawMessage `json:"values"`
	ValueString  string          `json:"valueString"`
	ImageURL     string          `json:"imageURL"`
}

// DecodeAlertmanager decodes an Alertmanager webhook body (version 4, also
// sent by Grafana Alerting's webhook contact point) into one alert per
// entry of "alerts".
//
// "version" must be "4" when present. Grafana sends its own payload version
// "1" along with "orgId"; that combination is accepted too. Each alert needs
// a status (firing or resolved) and at least one label.
//
// The alert's id is its fingerprint, or when there is none a hash of its
// sorted label pairs. Summary is annotations.summary, else
// annotations.description, else labels.alertname; for Grafana's
// DatasourceNoData and DatasourceError alerts, what happened to which
// rule (see grafanaDatasourceSummary); Severity is
// labels.severity; URL is generatorURL; Source is externalURL. An endsAt of
// 0001-01-01T00:00:00Z, which Alertmanager sends for firing alerts, is the
// zero time.
func DecodeAlertmanager(integration string, body []byte) ([]klaxon.Alert, error) {
	alerts, _, err := DecodeAlertmanagerWebhook(integration, body)
	return alerts, err
}

// DecodeAlertmanagerWebhook is DecodeAlertmanager, and says how many
// alerts of the group the sender left out of the body (its
// "truncatedAlerts": Alertmanager's max_alerts, Grafana's Max Alerts,
// reached). Klaxon never hears of those, their resolves among them.
func DecodeAlertmanagerWebhook(integration string, body []byte) (alerts []klaxon.Alert, cut int, err error) {
	p, ok := readAlertmanager(body)
	if !ok {
		p = amPayload{}
		if err := decodeAlerts[amAlert](body, &p); err != nil {
			return nil, 0, err
		}
	}
	switch {
	case p.Version == "" || p.Version == "4":
	case p.Version == "1" && len(p.OrgID) > 0: // Grafana Alerting
	default:
		return nil, 0, klaxon.Invalid("version", "must be \"4\", got %q", p.Version)
	}
	if len(p.Alerts) == 0 {
		return nil, 0, klaxon.Invalid("alerts", "no alerts")
	}
	alerts = make([]klaxon.Alert, 0, len(p.Alerts))
	for i := range p.Alerts {
		a, err := p.Alerts[i].alert(integration, i)
		if err != nil {
			return nil, 0, err
		}
		a.Source = p.ExternalURL
		alerts = append(alerts, a)
	}
	if err := bound(alerts, listPath); err != nil {
		return nil, 0, err
	}
	return alerts, leftOut(p.Truncated), nil
}

// maxLeftOut bounds the alerts a body may say its sender left out: an
// Alertmanager group of more is no group, and a count past it would
// make the counter of them say nothing ever after.
const maxLeftOut = 1_000_000

// leftOut reads a webhook's truncatedAlerts: a whole number from 0 to
// maxLeftOut, else 0. A sender's odd count is no reason to refuse the
// alerts it sent.
func leftOut(raw json.RawMessage) int {
	n, err := strconv.Atoi(string(raw))
	if err != nil || n < 0 || n > maxLeftOut {
		return 0
	}
	return n
}

// amPayloadKeys and amAlertKeys are the JSON names of amPayload's and
// amAlert's fields, in the order of the fields bits readAlertmanager keeps.
var (
	amPayloadKeys = []string{"version", "externalURL", "alerts", "orgId", "truncatedAlerts"}
	amAlertKeys   = []string{"status", "labels", "annotations", "startsAt", "endsAt", "generatorURL", "fingerprint",
		"silenceURL", "dashboardURL", "panelURL", "values", "valueString", "imageURL"}
)

// readAlertmanager decodes body as encoding/json would decode it into an
// amPayload, or reports false when the reader gave up on it.
func readAlertmanager(body []byte) (amPayload, bool) {
	r := reader{b: body}
	var p amPayload
	var seen fields
	r.object(func(key []byte) {
		switch string(key) {
		case "version":
			if seen.first(0) {
				p.Version = r.str()
				return
			}
		case "externalURL":
			if seen.first(1) {
				p.ExternalURL = r.str()
				return
			}
		case "alerts":
			if seen.first(2) {
				if !r.null() {
					p.Alerts = make([]amAlert, 0, 16)
					r.array(func() {
						p.Alerts = append(p.Alerts, amAlert{})
						readAlertmanagerAlert(&r, &p.Alerts[len(p.Alerts)-1])
					})
				}
				return
			}
		case "orgId":
			if seen.first(3) {
				p.OrgID = r.raw()
				return
			}
		case "truncatedAlerts":
			if seen.first(4) {
				p.Truncated = r.raw()
				return
			}
		default:
			if !foldsTo(key, amPayloadKeys...) {
				r.skip(0)
				return
			}
		}
		r.fail()
	})
	r.end()
	return p, !r.failed
}

// readAlertmanagerAlert reads one element of a webhook's "alerts".
func readAlertmanagerAlert(r *reader, a *amAlert) {
	var seen fields
	r.object(func(key []byte) {
		switch string(key) {
		case "status":
			if seen.first(0) {
				a.Status = r.str()
				return
			}
		case "labels":
			if seen.first(1) {
				a.Labels = r.strings()
				return
			}
		case "annotations":
			if seen.first(2) {
				a.Annotations = r.strings()
				return
			}
		case "startsAt":
			if seen.first(3) {
				a.StartsAt = r.str()
				return
			}
		case "endsAt":
			if seen.first(4) {
				a.EndsAt = r.str()
				return
			}
		case "generatorURL":
			if seen.first(5) {
				a.GeneratorURL = r.str()
				return
			}
		case "fingerprint":
			if seen.first(6) {
				a.Fingerprint = r.str()
				return
			}
		case "silenceURL":
			if seen.first(7) {
				a.SilenceURL = r.str()
				return
			}
		case "dashboardURL":
			if seen.first(8) {
				a.DashboardURL = r.str()
				return
			}
		case "panelURL":
			if seen.first(9) {
				a.PanelURL = r.str()
				return
			}
		case "values":
			if seen.first(10) {
				a.Values = r.raw()
				return
			}
		case "valueString":
			if seen.first(11) {
				a.ValueString = r.str()
				return
			}
		case "imageURL":
			if seen.first(12) {
				a.ImageURL = r.str()
				return
			}
		default:
			if !foldsTo(key, amAlertKeys...) {
				r.skip(0)
				return
			}
		}
		r.fail()
	})
}

// alert normalises the i-th alert of a webhook body.
func (in *amAlert) alert(integration string, i int) (klaxon.Alert, error) {
	var status klaxon.Status
	switch in.Status {
	case "firing":
		status = klaxon.Firing
	case "resolved":
		status = klaxon.Resolved
	case "":
		return klaxon.Alert{}, klaxon.Invalid(index("alerts", i, "status"), "required")
	default:
		return klaxon.Alert{}, klaxon.Invalid(index("alerts", i, "status"),
			"must be firing or resolved, got %q", in.Status)
	}
	if len(in.Labels) == 0 {
		return klaxon.Alert{}, klaxon.Invalid(index("alerts", i, "labels"), "must have at least one label")
	}
	starts, ok := parseTime(in.StartsAt)
	if !ok {
		return klaxon.Alert{}, badTime(index("alerts", i, "startsAt"), in.StartsAt)
	}
	ends, ok := parseTime(in.EndsAt)
	if !ok {
		return klaxon.Alert{}, badTime(index("alerts", i, "endsAt"), in.EndsAt)
	}
	id := in.Fingerprint
	if id == "" {
		id = labelsID(in.Labels)
	}
	summary := grafanaDatasourceSummary(in.Labels, in.Annotations)
	if summary == "" {
		summary = in.Annotations["summary"]
	}
	if summary == "" {
		summary = in.Annotations["description"]
	}
	if summary == "" {
		summary = in.Labels["alertname"]
	}
	return klaxon.Alert{
		Key:         klaxon.AlertKey(integration, id),
		Integration: integration,
		Status:      status,
		Summary:     summary,
		Severity:    in.Labels["severity"],
		Labels:      in.Labels,
		Annotations: in.grafanaAnnotations(),
		StartsAt:    starts,
		EndsAt:      ends,
		URL:         in.GeneratorURL,
	}, nil
}

// grafanaDatasourceSummary is the summary of the alert Grafana Alerting
// fires for a rule whose query returned no data (alertname
// DatasourceNoData) or failed (DatasourceError, the error in the
// annotation Error): the alert's name, the rule's (the label rulename)
// and the error, like "DatasourceError: High CPU: failed to execute
// query [A]: ...". Such an alert carries the rule's annotations, whose
// summary, templated without values, says the rule's condition holds.
// "" for any other alert.
func grafanaDatasourceSummary(labels, annotations map[string]string) string {
	name, rule := labels["alertname"], labels["rulename"]
	if (name != "DatasourceNoData" && name != "DatasourceError") || rule == "" {
		return ""
	}
	s := name + ": " + rule
	if e := annotations["Error"]; e != "" && name == "DatasourceError" {
		s += ": " + e
	}
	return s
}

// grafanaAnnotations are the alert's annotations with Grafana Alerting's
// links and values added, where the sender set no annotation of the name:
// silence_url, dashboard_url, panel_url, image_url (the screenshot of the
// panel, with screenshots on), values (the query's values as JSON, like
// {"B":44.2}) and value_string.
func (in *amAlert) grafanaAnnotations() map[string]string {
	extra := [...][2]string{
		{"silence_url", in.SilenceURL},
		{"dashboard_url", in.DashboardURL},
		{"panel_url", in.PanelURL},
		{"image_url", in.ImageURL},
		{"values", grafanaValues(in.Values)},
		{"value_string", in.ValueString},
	}
	m := in.Annotations
	for _, kv := range extra {
		if kv[1] == "" || m[kv[0]] != "" {
			continue
		}
		if m == nil {
			m = make(map[string]string, len(extra))
		}
		m[kv[0]] = kv[1]
	}
	return m
}

// grafanaValues is Grafana's values as compact JSON; "" for none or null.
func grafanaValues(raw json.RawMessage) string {
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	var b bytes.Buffer
	if json.Compact(&b, raw) != nil {
		return ""
	}
	return b.String()
}
