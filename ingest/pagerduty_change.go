package ingest

import (
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/klaxonhq/klaxon"
)

// Bounds on what a change event keeps. A store keeps up to
// klaxon.DefaultChangeBounds.Count changes of each integration, so each
// is held to about 16 KiB of text (twice that at most as stored; see
// plainText): a summary of 1024 characters is PagerDuty's
// bound, and refused past it; the rest is cut and marked.
const (
	MaxChangeSource  = 1024     // payload.source
	MaxChangeDetails = 4 * 1024 // payload.custom_details, names and values in all
	MaxChangeLinks   = 5        // links past the first five are dropped
	MaxChangeHref    = 1024     // a link's href
	MaxChangeText    = 256      // a link's text
)

// DroppedDetails is the detail that counts the custom_details a change
// over MaxChangeDetails dropped.
const DroppedDetails = "klaxon_dropped_details"

// ChangeEvent is a PagerDuty change event, decoded.
type ChangeEvent struct {
	// RoutingKey is the integration key the event was sent with; the
	// caller checks it against the integration's token.
	RoutingKey string
	// Change is the event as a change, but for what its receiver knows:
	// Integration and ReceivedAt are not set, nor At when the event has
	// no payload.timestamp.
	Change klaxon.Change
}

type pdChange struct {
	RoutingKey string          `json:"routing_key"`
	Payload    pdChangePayload `json:"payload"`
	Links      []pdChangeLink  `json:"links"` // images are ignored
}

type pdChangePayload struct {
	Summary       string          `json:"summary"`
	Source        string          `json:"source"`
	Timestamp     string          `json:"timestamp"`
	CustomDetails json.RawMessage `json:"custom_details"`
}

type pdChangeLink struct {
	Href string `json:"href"`
	Text string `json:"text"`
}

// DecodePagerDutyChange decodes a PagerDuty change event (POST
// /v2/change/enqueue), validating it as PagerDuty does: routing_key and
// payload.summary (at most 1024 characters) are required, payload.timestamp
// is an ISO 8601 time when given, and each link has an href. Messages
// read as PagerDuty's once quoted by InvalidEventFrom: "'payload.summary'
// is missing or blank".
//
// custom_details become the change's details as an alert's become its
// annotations (strings as they are, other values as JSON); the links keep
// their href and text. What is over its bound (MaxChangeSource and the
// others) is cut and marked, or dropped, and the dropped details counted
// under DroppedDetails.
func DecodePagerDutyChange(body []byte) (ChangeEvent, error) {
	var in pdChange
	if err := decodeJSON(body, &in); err != nil {
		return ChangeEvent{}, err
	}
	if blank(in.RoutingKey) {
		return ChangeEvent{}, klaxon.Invalid("routing_key", "is missing or blank")
	}
	p := in.Payload
	if blank(p.Summary) {
		return ChangeEvent{}, klaxon.Invalid("payload.summary", "is missing or blank")
	}
	if n := utf8.RuneCountInString(p.Summary); n > maxSummary {
		return ChangeEvent{}, klaxon.Invalid("payload.summary", "must be at most %d characters, got %d", maxSummary, n)
	}
	at, err := pdTime(p.Timestamp)
	if err != nil {
		return ChangeEvent{}, err
	}
	details, err := pdDetails(p.CustomDetails)
	if err != nil {
		return ChangeEvent{}, err
	}
	if cutMap(details, MaxChangeDetails) > MaxChangeDetails {
		budget(details, MaxChangeDetails, DroppedDetails)
	}
	var links []klaxon.Link
	for i, l := range in.Links {
		if blank(l.Href) {
			return ChangeEvent{}, klaxon.Invalid(fmt.Sprintf("links[%d].href", i), "is missing or blank")
		}
		if len(links) < MaxChangeLinks {
			links = append(links, klaxon.Link{Href: plainText(cutTo(l.Href, MaxChangeHref)), Text: plainText(cutTo(l.Text, MaxChangeText))})
		}
	}
	var plain map[string]string
	if details != nil {
		plain = make(map[string]string, len(details))
		for k, v := range details {
			plain[plainText(k)] = plainText(v)
		}
	}
	return ChangeEvent{RoutingKey: in.RoutingKey, Change: klaxon.Change{
		Summary: plainText(p.Summary),
		Source:  plainText(cutTo(p.Source, MaxChangeSource)),
		At:      at,
		Details: plain,
		Links:   links,
	}}, nil
}

// plainText is s with its control characters but tab, newline and
// carriage return turned to spaces, and each run of bytes that is no
// UTF-8 to a "?": JSON writes a control character in six bytes, and a
// byte that is no UTF-8 as U+FFFD, in three or six; a change's text is
// bounded in bytes, its JSON at most twice them. (A string that
// encoding/json decoded is UTF-8; custom_details kept as their JSON text
// are not decoded.)
func plainText(s string) string {
	s = strings.ToValidUTF8(s, "?")
	control := func(r rune) bool { return r < 0x20 && r != '\t' && r != '\n' && r != '\r' }
	if !strings.ContainsFunc(s, control) {
		return s
	}
	return strings.Map(func(r rune) rune {
		if control(r) {
			return ' '
		}
		return r
	}, s)
}

// ChangeAccepted is the body of a 202 for a change event that was
// processed: {"status":"success","message":"Change event processed"}.
func ChangeAccepted() Response {
	return Response{Status: "success", Message: "Change event processed"}
}
