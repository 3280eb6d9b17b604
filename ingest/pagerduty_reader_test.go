package ingest

import "testing"

// pdReaderCases are events at the edges of what the reader handles: each
// must come out as encoding/json decodes it, or be handed to encoding/json.
var pdReaderCases = map[string]readerCase{
	"plain":                {`{"routing_key":"k","event_action":"trigger","payload":{"summary":"s","source":"h","severity":"info"}}`, true},
	"every field":          {`{"routing_key":"k","event_action":"trigger","dedup_key":"d","payload":{"summary":"s","source":"h","severity":"info","timestamp":"2026-01-01T00:00:00Z","component":"c","group":"g","class":"x","custom_details":{"a":[1,{"b":null}]}},"links":[{"href":"http://x","text":"t"}],"images":[{"src":"y"}],"client":"c","client_url":"u"}`, true},
	"null members":         {`{"routing_key":null,"payload":null,"links":null}`, true},
	"null payload fields":  {`{"payload":{"summary":null,"custom_details":null}}`, true},
	"null link":            {`{"links":[null,{"href":null}]}`, true},
	"empty links":          {`{"links":[]}`, true},
	"custom details text":  {`{"payload":{"custom_details":"free text"}}`, true},
	"escapes":              {`{"payload":{"summary":"disk \"full\" \u00e9\n"}}`, true},
	"duplicate field":      {`{"routing_key":"a","routing_key":"b"}`, false},
	"duplicate in payload": {`{"payload":{"summary":"a","summary":"b"}}`, false},
	"duplicate href":       {`{"links":[{"href":"a","href":"b"}]}`, false},
	"case folded field":    {`{"Routing_Key":"k"}`, false},
	"case folded payload":  {`{"payload":{"Summary":"s"}}`, false},
	"case folded href":     {`{"links":[{"HREF":"x"}]}`, false},
	"escaped key":          {`{"routing_\u006bey":"k"}`, false},
	"number for string":    {`{"routing_key":1}`, false},
	"payload not object":   {`{"payload":"s"}`, false},
	"links not array":      {`{"links":{}}`, false},
	"trailing data":        {`{} {}`, false},
	"top-level array":      {`[]`, false},
	"unterminated":         {`{"payload":{"summary":"s"`, false},
}

func TestPagerDutyReaderDecodesAsEncodingJSON(t *testing.T) {
	checkReaderCases(t, pdReaderCases, readPagerDuty)
}

// TestPagerDutyReaderTakesRealBodies: the events senders send take the
// fast path.
func TestPagerDutyReaderTakesRealBodies(t *testing.T) {
	checkReaderTakes(t, "pagerduty", readPagerDuty)
}

// FuzzPagerDutyReader holds the reader to encoding/json: whatever event it
// decodes, encoding/json decodes without error into the same value.
//
//	go test -run='^$' -fuzz=FuzzPagerDutyReader -fuzztime=30s ./ingest
func FuzzPagerDutyReader(f *testing.F) {
	seedCorpus(f, "pagerduty")
	for _, tc := range pdReaderCases {
		f.Add([]byte(tc.body))
	}
	fuzzReader(f, readPagerDuty)
}

// BenchmarkReadPagerDuty reads one trigger event as the storm of single
// events brings them; /json decodes the same body with encoding/json, the
// way every event went before the reader.
func BenchmarkReadPagerDuty(b *testing.B) {
	body := []byte(`{"routing_key":"load-routing-key","event_action":"trigger","dedup_key":"load-4711",` +
		`"payload":{"summary":"load alert 4711","source":"host-11.example.com","severity":"warning",` +
		`"group":"g47","timestamp":"2026-11-26T03:00:00Z","custom_details":{"free":"text","n":1}}}`)
	b.Run("reader", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		for b.Loop() {
			if _, ok := readPagerDuty(body); !ok {
				b.Fatal("the reader gave up")
			}
		}
	})
	b.Run("json", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		for b.Loop() {
			var in pdEvent
			if err := decodeJSON(body, &in); err != nil {
				b.Fatal(err)
			}
		}
	})
}
