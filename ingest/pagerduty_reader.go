package ingest

// pdEventKeys, pdPayloadKeys and pdLinkKeys are the JSON names of
// pdEvent's, pdPayload's and pdLink's fields, in the order readPagerDuty
// numbers them.
var (
	pdEventKeys   = []string{"routing_key", "event_action", "dedup_key", "payload", "links"}
	pdPayloadKeys = []string{"summary", "source", "severity", "timestamp", "component", "group", "class", "custom_details"}
	pdLinkKeys    = []string{"href"}
)

// readPagerDuty decodes body as encoding/json would decode it into a
// pdEvent, or reports false when the reader gave up on it (see reader):
// one event a request is the storm's hard case, and reflection would be a
// large part of its cost.
func readPagerDuty(body []byte) (pdEvent, bool) {
	r := reader{b: body}
	var ev pdEvent
	var seen fields
	r.object(func(key []byte) {
		switch string(key) {
		case "routing_key":
			if seen.first(0) {
				ev.RoutingKey = r.str()
				return
			}
		case "event_action":
			if seen.first(1) {
				ev.EventAction = r.str()
				return
			}
		case "dedup_key":
			if seen.first(2) {
				ev.DedupKey = r.str()
				return
			}
		case "payload":
			if seen.first(3) {
				if !r.null() {
					readPagerDutyPayload(&r, &ev.Payload)
				}
				return
			}
		case "links":
			if seen.first(4) {
				if !r.null() {
					ev.Links = make([]pdLink, 0, 1)
					r.array(func() {
						ev.Links = append(ev.Links, pdLink{})
						if !r.null() {
							readPagerDutyLink(&r, &ev.Links[len(ev.Links)-1])
						}
					})
				}
				return
			}
		default:
			if !foldsTo(key, pdEventKeys...) {
				r.skip(0)
				return
			}
		}
		r.fail()
	})
	r.end()
	return ev, !r.failed
}

// readPagerDutyPayload reads an event's "payload".
func readPagerDutyPayload(r *reader, p *pdPayload) {
	var seen fields
	r.object(func(key []byte) {
		switch string(key) {
		case "summary":
			if seen.first(0) {
				p.Summary = r.str()
				return
			}
		case "source":
			if seen.first(1) {
				p.Source = r.str()
				return
			}
		case "severity":
			if seen.first(2) {
				p.Severity = r.str()
				return
			}
		case "timestamp":
			if seen.first(3) {
				p.Timestamp = r.str()
				return
			}
		case "component":
			if seen.first(4) {
				p.Component = r.str()
				return
			}
		case "group":
			if seen.first(5) {
				p.Group = r.str()
				return
			}
		case "class":
			if seen.first(6) {
				p.Class = r.str()
				return
			}
		case "custom_details":
			if seen.first(7) {
				p.CustomDetails = r.raw()
				return
			}
		default:
			if !foldsTo(key, pdPayloadKeys...) {
				r.skip(0)
				return
			}
		}
		r.fail()
	})
}

// readPagerDutyLink reads one element of an event's "links".
func readPagerDutyLink(r *reader, l *pdLink) {
	var seen fields
	r.object(func(key []byte) {
		if string(key) == "href" && seen.first(0) {
			l.Href = r.str()
			return
		}
		if string(key) != "href" && !foldsTo(key, pdLinkKeys...) {
			r.skip(0)
			return
		}
		r.fail()
	})
}
