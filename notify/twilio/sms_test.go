package twilio

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
)

func TestSMSText(t *testing.T) {
	long := strings.Repeat("disk almost full on db-1 ", 12)
	tests := []struct {
		name string
		page klaxon.Page
		want string // "" to check only the length and the alphabet
		has  []string
	}{
		{
			name: "issue example",
			page: klaxon.Page{Incident: "42", Severity: "critical", Summary: "5xx ratio above 5% on payments", Alerts: 2},
			want: "#42 CRIT 5xx ratio above 5% on payments (2 firing). Reply 42A ack, 42R resolve, 42E escalate",
		},
		{
			name: "no severity, no firing count",
			page: klaxon.Page{Incident: "7", Summary: "heartbeat missing"},
			want: "#7 heartbeat missing. Reply 7A ack, 7R resolve, 7E escalate",
		},
		{
			name: "other severity cut to five letters",
			page: klaxon.Page{Incident: "7", Severity: "disaster", Summary: "x", Alerts: 1},
			want: "#7 DISAS x (1 firing). Reply 7A ack, 7R resolve, 7E escalate",
		},
		{
			name: "empty summary",
			page: klaxon.Page{Incident: "7", Severity: "warning", Alerts: 3},
			want: "#7 WARN (3 firing). Reply 7A ack, 7R resolve, 7E escalate",
		},
		{
			name: "line breaks and tabs become one space",
			page: klaxon.Page{Incident: "8", Summary: "  disk\n\tfull \r\n on db-1 ", Alerts: 1},
			want: "#8 disk full on db-1 (1 firing). Reply 8A ack, 8R resolve, 8E escalate",
		},
		{
			name: "transliterated",
			page: klaxon.Page{Incident: "9", Severity: "critical", Summary: "Zażółć “gęślą” jaźń – café… naïve", Alerts: 1},
			want: `#9 CRIT Zazolc "gesla" jazn - café... naive (1 firing). Reply 9A ack, 9R resolve, 9E escalate`,
		},
		{
			name: "emoji and CJK dropped",
			page: klaxon.Page{Incident: "9", Summary: "🔥 payments 支付 down 🔥", Alerts: 1},
			want: "#9 payments down (1 firing). Reply 9A ack, 9R resolve, 9E escalate",
		},
		{
			name: "long summary cut with three dots",
			page: klaxon.Page{Incident: "42", Severity: "critical", Summary: long, Alerts: 12},
			want: "#42 CRIT disk almost full on db-1 disk almost full on db-1 disk almost full on db-1 disk almost full on... (12 firing). Reply 42A ack, 42R resolve, 42E escalate",
		},
		{
			name: "extension characters count twice",
			page: klaxon.Page{Incident: "42", Summary: strings.Repeat("{x}", 60), Alerts: 1},
		},
		{
			name: "long id shortens the reply",
			page: klaxon.Page{Incident: "12345678901234567", Severity: "critical", Summary: long, Alerts: 2},
			has:  []string{"#12345678901234567 CRIT disk", "Reply 12345678901234567A ack, 12345678901234567R res, 12345678901234567E esc"},
		},
		{
			name: "very long id falls back to bare codes",
			page: klaxon.Page{Incident: strings.Repeat("9", 40), Summary: long, Alerts: 2},
			has:  []string{"#" + strings.Repeat("9", 40) + " disk", "Reply A ack, R resolve, E escalate"},
		},
		{
			name: "six digit id",
			page: klaxon.Page{Incident: "123456", Severity: "warning", Summary: long, Alerts: 999},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := SMSText(tt.page)
			if tt.want != "" {
				require.Equal(t, tt.want, got)
			}
			for _, h := range tt.has {
				require.Contains(t, got, h)
			}
			n, ok := septets(got)
			require.True(t, ok, "outside GSM-7: %q", got)
			require.LessOrEqual(t, n, segmentSeptets, "%q", got)
			require.Contains(t, got, "Reply ")
			_, err := ParseReply(strings.Fields(strings.SplitN(got, "Reply ", 2)[1])[0])
			require.NoError(t, err, "the first reply code in %q must parse", got)
		})
	}
}

func TestGSMText(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain ASCII 0-9 !?", "plain ASCII 0-9 !?"},
		{"GSM letters: ÄÖÑÜäöñüàèéùìòÇØøÅåÆæßÉ", "GSM letters: ÄÖÑÜäöñüàèéùìòÇØøÅåÆæßÉ"},
		{"extension: {[~]}|^€\\", "extension: {[~]}|^€\\"},
		{"Greek capitals ΔΦΓΛΩΠΨΣΘΞ", "Greek capitals ΔΦΓΛΩΠΨΣΘΞ"},
		{"accents ÀÁÂÃçÈÊËíîïóôõúûýÿ", "accents AAAAcEEEiiiooouuyy"},
		{"Polish ŁódźŻółw", "Polish LodzZolw"},
		{"quotes ‘a’ “b” «c»", `quotes 'a' "b" "c"`},
		{"dashes a–b—c−d", "dashes a-b-c-d"},
		{"ellipsis…", "ellipsis..."},
		{"ligatures Œuvre ĳ", "ligatures OEuvre ij"},
		{"symbols ≥ 5 → ©™", "symbols >= 5 -> (c)TM"},
		{"nbsp\u00a0here", "nbsp here"},
		{"emoji 🚨 dropped", "emoji dropped"},
		{"  lead and trail  ", "lead and trail"},
		{"line\nbreak\r\nand\ttab\fform feed", "line break and tab form feed"},
		{"\x00\x07control", "control"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got := gsmText(tt.in)
			require.Equal(t, tt.want, got)
			_, ok := septets(got)
			require.True(t, ok)
		})
	}
}

func TestTruncateSeptets(t *testing.T) {
	tests := []struct {
		in   string
		max  int
		want string
	}{
		{"short", 10, "short"},
		{"exactly10!", 10, "exactly10!"},
		{"eleven char", 10, "eleven..."},
		{"word boundary cut", 9, "word..."},
		{"averyveryverylongword", 12, "averyvery..."},
		{"{{{{{{", 10, "{{{..."}, // a brace takes two septets
		{"€€€€€€", 9, "€€€..."},
		{"abc", 2, ".."},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got := truncateSeptets(tt.in, tt.max)
			require.Equal(t, tt.want, got)
			n, _ := septets(got)
			require.LessOrEqual(t, n, tt.max)
		})
	}
}

func TestSeverityCode(t *testing.T) {
	for in, want := range map[string]string{
		"": "", "critical": "CRIT", "CRITICAL": "CRIT", "warning": "WARN", "error": "ERR",
		"info": "INFO", "page": "PAGE", "high": "HIGH", "disaster": "DISAS", "très grave": "TRESG",
	} {
		t.Run(in, func(t *testing.T) { require.Equal(t, want, severityCode(in)) })
	}
}
