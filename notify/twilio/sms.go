package twilio

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	api "github.com/twilio/twilio-go/rest/api/v2010"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/notify"
)

// minSummary is the fewest septets of summary SMSText keeps before it
// shortens the reply instructions instead.
const minSummary = 40

// smsChannel pages by SMS.
type smsChannel struct{ t *Twilio }

var _ notify.Channel = smsChannel{}

// Send texts p to p.User.Phone. Twilio reports delivery to the status URL.
func (c smsChannel) Send(ctx context.Context, p klaxon.Page) error {
	if p.User.Phone == "" {
		return klaxon.Invalid("phone", "user %s has no phone number", p.User.ID)
	}
	params := &api.CreateMessageParams{}
	params.SetTo(p.User.Phone).SetFrom(c.t.from)
	if p.Test {
		params.SetBody(klaxon.TestText(klaxon.ViaSMS))
	} else {
		params.SetBody(SMSText(p)).SetStatusCallback(StatusURL(c.t.publicURL, p.Incident, p.Notification, p.Bundled...))
	}
	err := c.t.do(ctx, func(s *api.ApiService) error {
		m, err := s.CreateMessage(params)
		if err == nil && m.Sid != nil {
			providerID(ctx, *m.Sid)
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("send sms to %s: %w", MaskPhone(p.User.Phone), err)
	}
	return nil
}

// BundleFits reports whether the text of bundle p fits the one segment
// its SMS is cut to (see SMSText): a bundle names only pages its text
// keeps (notify.ThrottleOptions.Fits).
func BundleFits(p klaxon.Page) bool {
	n, _ := septets(gsmText(p.Text))
	return n <= segmentSeptets
}

// SMSText is the body of the SMS for p, in the GSM-7 alphabet and, unless
// the incident ID is very long, within one 160-character segment:
//
//	#42 CRIT 5xx ratio above 5% on payments (2 firing). Reply 42A ack, 42R resolve, 42E escalate
//
// The summary is transliterated (é stays, ł becomes l, … becomes ...) and
// cut with "..." to fit. When the incident ID leaves too little room, the
// reply instructions get shorter, down to the bare codes that act on the
// latest page to the phone. A bundle of pages (p.Bundle > 0) is its
// text, cut to the segment.
func SMSText(p klaxon.Page) string {
	if p.Bundle > 0 {
		return truncateSeptets(gsmText(p.Text), segmentSeptets)
	}
	id := strings.ReplaceAll(gsmText(p.Incident), " ", "")
	head := "#" + id
	if sev := severityCode(p.Severity); sev != "" {
		head += " " + sev
	}
	tail := "."
	if p.Alerts > 0 {
		tail = " (" + strconv.Itoa(p.Alerts) + " firing)."
	}
	summary := gsmText(p.Summary)
	forms := replyForms(id)
	for i, reply := range forms {
		fixed, _ := septets(head + " " + tail + " " + reply)
		if summary == "" {
			fixed--
		}
		room := segmentSeptets - fixed
		n, _ := septets(summary)
		if n <= room || room >= minSummary || i == len(forms)-1 {
			return compose(head, truncateSeptets(summary, max(room, minSummary)), tail, reply)
		}
	}
	panic("unreachable")
}

func compose(head, summary, tail, reply string) string {
	if summary != "" {
		head += " " + summary
	}
	return head + tail + " " + reply
}

// replyForms are the reply instructions for incident id, longest first.
func replyForms(id string) []string {
	bare := "Reply A ack, R resolve, E escalate"
	if id == "" {
		return []string{bare}
	}
	return []string{
		fmt.Sprintf("Reply %[1]sA ack, %[1]sR resolve, %[1]sE escalate", id),
		fmt.Sprintf("Reply %[1]sA ack, %[1]sR res, %[1]sE esc", id),
		bare,
	}
}

// severityCode abbreviates a severity for SMS: critical is CRIT, warning
// WARN; others are upper-cased and cut to five letters.
func severityCode(sev string) string {
	sev = strings.ToLower(strings.TrimSpace(sev))
	switch sev {
	case "":
		return ""
	case "critical", "crit":
		return "CRIT"
	case "warning", "warn":
		return "WARN"
	case "error", "err":
		return "ERR"
	case "information", "info":
		return "INFO"
	}
	code := strings.ReplaceAll(gsmText(strings.ToUpper(sev)), " ", "")
	if len(code) > 5 {
		code = truncateRunes(code, 5)
	}
	return code
}

func truncateRunes(s string, n int) string {
	i := 0
	for j := range s {
		if i == n {
			return s[:j]
		}
		i++
	}
	return s
}
