// Package otlptest is an OTLP/HTTP receiver of traces for tests: it
// decodes the protobuf requests an OpenTelemetry exporter posts to
// /v1/traces and keeps their spans.
package otlptest

import (
	"compress/gzip"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	"google.golang.org/protobuf/proto"
)

// Span is a span as received, with what tests look at.
type Span struct {
	Name                    string
	TraceID, SpanID, Parent string // hex; Parent "" for a root
	// Links are the trace IDs of the spans it links to.
	Links []string
	// Attributes are the span's, as strings.
	Attributes map[string]string
	// Resource are the attributes of the resource that sent it.
	Resource map[string]string
	// Error says the span's status is an error; Status is its message.
	Error  bool
	Status string
	// Events are the span's events (an exception recorded, say), each
	// its name and its attributes' values.
	Events []string
}

// Text is all a span says in words: its attributes' values, its status
// message and its events, for tests that look for what it must not
// hold.
func (s Span) Text() string {
	var b strings.Builder
	for k, v := range s.Attributes {
		b.WriteString(k + "=" + v + "\n")
	}
	b.WriteString(s.Status + "\n")
	for _, e := range s.Events {
		b.WriteString(e + "\n")
	}
	return b.String()
}

// Receiver is a running OTLP/HTTP receiver.
type Receiver struct {
	// URL is the base URL, for OTEL_EXPORTER_OTLP_ENDPOINT.
	URL string

	mu    sync.Mutex
	spans []Span
}

// Start runs a receiver on a free loopback port until the test ends.
func Start(t testing.TB) *Receiver {
	t.Helper()
	r := &Receiver{}
	srv := httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(srv.Close)
	r.URL = srv.URL
	return r
}

// Spans returns the spans received so far.
func (r *Receiver) Spans() []Span {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Span(nil), r.spans...)
}

func (r *Receiver) serve(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodPost || req.URL.Path != "/v1/traces" {
		http.NotFound(w, req)
		return
	}
	var body io.Reader = req.Body
	if req.Header.Get("Content-Encoding") == "gzip" {
		z, err := gzip.NewReader(req.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		body = z
	}
	b, err := io.ReadAll(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var export collectortrace.ExportTraceServiceRequest
	if err := proto.Unmarshal(b, &export); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var got []Span
	for _, rs := range export.GetResourceSpans() {
		res := attrs(rs.GetResource().GetAttributes())
		for _, ss := range rs.GetScopeSpans() {
			for _, s := range ss.GetSpans() {
				sp := Span{Name: s.GetName(), TraceID: hex.EncodeToString(s.GetTraceId()), SpanID: hex.EncodeToString(s.GetSpanId()),
					Parent: hex.EncodeToString(s.GetParentSpanId()), Attributes: attrs(s.GetAttributes()), Resource: res,
					Error: s.GetStatus().GetCode() == 2, Status: s.GetStatus().GetMessage()}
				for _, ev := range s.GetEvents() {
					text := ev.GetName()
					for _, v := range attrs(ev.GetAttributes()) {
						text += " " + v
					}
					sp.Events = append(sp.Events, text)
				}
				for _, l := range s.GetLinks() {
					sp.Links = append(sp.Links, hex.EncodeToString(l.GetTraceId()))
				}
				got = append(got, sp)
			}
		}
	}
	r.mu.Lock()
	r.spans = append(r.spans, got...)
	r.mu.Unlock()
	out, _ := proto.Marshal(&collectortrace.ExportTraceServiceResponse{})
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(out)
}

// attrs renders attributes as strings.
func attrs(kvs []*commonpb.KeyValue) map[string]string {
	out := make(map[string]string, len(kvs))
	for _, kv := range kvs {
		v := kv.GetValue()
		switch x := v.GetValue().(type) {
		case *commonpb.AnyValue_StringValue:
			out[kv.GetKey()] = x.StringValue
		case *commonpb.AnyValue_IntValue:
			out[kv.GetKey()] = strconv.FormatInt(x.IntValue, 10)
		default:
			out[kv.GetKey()] = v.String()
		}
	}
	return out
}
