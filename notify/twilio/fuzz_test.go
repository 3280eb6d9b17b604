package twilio

import (
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/twiliotest"
)

var (
	validActions  = map[klaxon.Action]bool{klaxon.ActionAck: true, klaxon.ActionResolve: true, klaxon.ActionEscalate: true}
	validKeywords = map[Keyword]bool{KeywordStop: true, KeywordStart: true, KeywordHelp: true}
)

func FuzzParseReply(f *testing.F) {
	f.Add(twiliotest.ReadForm(f, "testdata/inbound-sms.txt").Get("Body"))
	for _, s := range []string{"42A", " 42 a ", "#7r", "AA", "e", "STOP", "stop all", "unstop", "help",
		"42 resolve", "0a", "", "42", "hello", "１２Ａ", "42\u00a0a", "4\x002a", strings.Repeat("9", 30) + "A"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		r, err := ParseReply(body)
		if err != nil {
			if !errors.Is(err, klaxon.ErrInvalid) || !strings.Contains(err.Error(), ReplyHelp) {
				t.Fatalf("ParseReply(%q) = %v: want ErrInvalid listing the forms", body, err)
			}
			return
		}
		if r.Keyword != "" {
			if !validKeywords[r.Keyword] || r.Action != "" {
				t.Fatalf("ParseReply(%q) = %+v: unknown keyword", body, r)
			}
			return
		}
		if !validActions[r.Action] {
			t.Fatalf("ParseReply(%q) = %+v: unknown action", body, r)
		}
		if strings.Trim(r.Incident, "0123456789") != "" || len(r.Incident) > maxIncidentDigits {
			t.Fatalf("ParseReply(%q) = %+v: incident not a number", body, r)
		}
		if r.All {
			return
		}
		// The reply codes SMSText shows parse back to the same reply.
		code := r.Incident + strings.ToUpper(string(r.Action)[:1])
		again, err := ParseReply(code)
		if err != nil || again != r {
			t.Fatalf("ParseReply(%q) = %+v, but ParseReply(%q) = %+v, %v", body, r, code, again, err)
		}
	})
}

func FuzzSMSText(f *testing.F) {
	f.Add(uint32(42), "critical", "5xx ratio above 5% on payments", 2)
	f.Add(uint32(1), "", "Zażółć gęślą jaźń… “quotes” 🔥 {braces} €", 0)
	f.Add(uint32(4294967295), "très grave", strings.Repeat("long summary ", 30), 100000)
	f.Fuzz(func(t *testing.T, id uint32, severity, summary string, alerts int) {
		p := klaxon.Page{Incident: strconv.FormatUint(uint64(id), 10), Severity: severity, Summary: summary, Alerts: alerts}
		got := SMSText(p)
		n, ok := septets(got)
		if !ok || n > segmentSeptets {
			t.Fatalf("SMSText(%+v) = %q: %d septets, GSM-7 %v", p, got, n, ok)
		}
		_, reply, found := strings.Cut(got, " Reply ")
		if !found {
			t.Fatalf("SMSText(%+v) = %q: no reply instructions", p, got)
		}
		r, err := ParseReply(strings.Fields(reply)[0])
		if err != nil || r.Action != klaxon.ActionAck || r.Incident != p.Incident {
			t.Fatalf("SMSText(%+v) = %q: first code parses to %+v, %v", p, got, r, err)
		}
	})
}
