package incidentjson

import (
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
)

// fill sets v, and every field it holds, to random values: about one
// in four left zero (nil, empty, the zero time), so that both sides of
// every omitempty and omitzero are taken. A field added to a type the
// header or an event holds is filled too, and the comparison with
// encoding/json fails until this package writes it.
func fill(r *rand.Rand, v reflect.Value) {
	if v.Type() == reflect.TypeFor[time.Time]() {
		v.Set(reflect.ValueOf(randomTime(r)))
		return
	}
	if r.IntN(4) == 0 {
		return // zero
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(randomString(r))
	case reflect.Int, reflect.Int64:
		v.SetInt(r.Int64N(1<<40) - 1<<39)
	case reflect.Uint64:
		v.SetUint(r.Uint64())
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(r, v.Elem())
	case reflect.Slice:
		n := r.IntN(4) // 0 is an empty slice, not nil
		v.Set(reflect.MakeSlice(v.Type(), n, n))
		for i := range n {
			fill(r, v.Index(i))
		}
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		for range r.IntN(5) {
			k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
			fill(r, k)
			fill(r, e)
			m.SetMapIndex(k, e)
		}
		v.Set(m)
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fill(r, v.Field(i))
			}
		}
	default:
		panic("fill: a field of kind " + v.Kind().String() + ": teach fill, and the encoder, its type")
	}
}

// randomString mixes what JSON escapes with what it does not.
func randomString(r *rand.Rand) string {
	parts := []string{"a", "Z", "load-17", " ", `"`, `\`, "\n", "\t", "\r", "\b", "\f", "\x00", "\x1f", "\x7f",
		"<", ">", "&", "\u2028", "\u2029", "é", "日本", "🚨", "\xff", "\xe2\x80", "\ufffd", "/"}
	var s string
	for range r.IntN(6) + 1 {
		s += parts[r.IntN(len(parts))]
	}
	return s
}

// randomTime is zero a time in four, else a time with or without
// nanoseconds in UTC, a fixed zone or a named one.
func randomTime(r *rand.Rand) time.Time {
	if r.IntN(4) == 0 {
		return time.Time{}
	}
	t := time.Unix(r.Int64N(4e9), 0)
	if r.IntN(2) == 0 {
		t = t.Add(time.Duration(r.IntN(1e9)))
	}
	switch r.IntN(3) {
	case 0:
		return t.UTC()
	case 1:
		return t.In(time.FixedZone("", (r.IntN(48)-24)*30*60))
	default:
		loc, err := time.LoadLocation("America/New_York")
		if err != nil {
			return t.Local()
		}
		return t.In(loc)
	}
}

// What AppendHeader and AppendEvent write is json.Marshal's, for
// incidents and events with every field filled or left zero at random,
// after what the buffer held.
func TestAppendIsJSONMarshal(t *testing.T) {
	t.Run("header", func(t *testing.T) { sameAsMarshal(t, 1, AppendHeader) })
	t.Run("event", func(t *testing.T) { sameAsMarshal(t, 2, AppendEvent) })
}

func sameAsMarshal[T any](t *testing.T, seed uint64, appendJSON func([]byte, *T) ([]byte, error)) {
	r := rand.New(rand.NewPCG(seed, seed))
	for i := range 5000 {
		var v T
		fill(r, reflect.ValueOf(&v).Elem())
		want, err := json.Marshal(&v)
		require.NoError(t, err)
		got, err := appendJSON([]byte("prefix"), &v)
		require.NoError(t, err)
		require.Equal(t, "prefix"+string(want), string(got), "value %d: %#v", i, v)
	}
}

// A time that RFC 3339 cannot write is refused as encoding/json refuses
// it, and nothing is appended.
func TestTimesJSONRefuses(t *testing.T) {
	for name, at := range map[string]time.Time{
		"year 10000": time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		"year -1":    time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC),
		"zone 24h":   time.Date(2026, 1, 1, 0, 0, 0, 0, time.FixedZone("", 24*60*60)),
		"zone -25h":  time.Date(2026, 1, 1, 0, 0, 0, 0, time.FixedZone("", -25*60*60)),
	} {
		t.Run(name, func(t *testing.T) {
			t.Run("header", func(t *testing.T) { refusedAsMarshal(t, &klaxon.Incident{ID: "1", CreatedAt: at}, AppendHeader) })
			t.Run("event", func(t *testing.T) {
				refusedAsMarshal(t, &klaxon.Event{At: at, Kind: klaxon.EventTriggered}, AppendEvent)
			})
		})
	}
}

// refusedAsMarshal checks that appendJSON refuses v with json.Marshal's
// error, and appends nothing.
func refusedAsMarshal[T any](t *testing.T, v *T, appendJSON func([]byte, *T) ([]byte, error)) {
	_, want := json.Marshal(v)
	require.Error(t, want)
	got, err := appendJSON([]byte("x"), v)
	require.EqualError(t, err, want.Error())
	require.Equal(t, "x", string(got))
}

// FuzzAppendString checks the string escaping against encoding/json's,
// for any bytes.
func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "plain", `"quoted" \ back`, "<b>&amp;</b>", "line\nbreak\t\r\b\f\x00\x1f",
		"\u2028\u2029", "\xff\xfe", "\xe2\x80", "日本語 🚨", "\x7f"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, err := json.Marshal(s)
		require.NoError(t, err)
		require.Equal(t, string(want), string(appendString(nil, s)))
	})
}

func BenchmarkAppendHeader(b *testing.B) {
	inc := benchIncident()
	b.Run("incidentjson", func(b *testing.B) {
		var buf []byte
		for b.Loop() {
			var err error
			if buf, err = AppendHeader(buf[:0], inc); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		for b.Loop() {
			if _, err := json.Marshal(inc); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// benchIncident is an incident of the load command's: one step, one
// page sent, labels of a route with group_by [group].
func benchIncident() *klaxon.Incident {
	at := time.Date(2026, 11, 27, 12, 0, 0, 123456789, time.UTC)
	return &klaxon.Incident{ID: "1234", Group: "{group=17}", Summary: "load alert 17", Severity: "warning",
		Urgency: klaxon.UrgencyHigh, Labels: map[string]string{"group": "17"}, State: klaxon.StateTriggered,
		CreatedAt: at, AlertCount: 42, FiringCount: 42, PagedAt: at,
		Policy: klaxon.Policy{Name: "load", Steps: []klaxon.Step{{Targets: []klaxon.Target{{Kind: "user", Name: "oncall"}},
			EscalateAfter: 5 * time.Minute}}},
		Escalation: klaxon.Escalation{Step: 0, NextAt: at.Add(5 * time.Minute), Reached: true},
		Seq:        1, Sent: []klaxon.Sent{{Notification: 1, User: "oncall", Via: "webhook", At: at, Delivered: true}}}
}

// Header and Events return buffers of their own: each event's bytes
// are json.Marshal's, and appending to one leaves the next as it is.
func TestHeaderAndEventsOwnTheirBytes(t *testing.T) {
	inc := benchIncident()
	inc.Recorded = []klaxon.Event{
		{At: inc.CreatedAt, Kind: klaxon.EventTriggered, Alert: "pd/load-17", Text: "load alert 17"},
		{At: inc.CreatedAt, Kind: klaxon.EventAlertJoined, Alert: "pd/load-1017"},
	}
	header, err := Header(inc)
	require.NoError(t, err)
	events, err := Events(inc)
	require.NoError(t, err)
	again, err := Header(inc) // from the same scratch buffer
	require.NoError(t, err)
	want, err := json.Marshal(inc)
	require.NoError(t, err)
	require.Equal(t, string(want), string(header))
	require.Equal(t, string(want), string(again))
	require.Len(t, events, 2)
	for i := range events {
		want, err := json.Marshal(&inc.Recorded[i])
		require.NoError(t, err)
		require.Equal(t, string(want), string(events[i]))
	}
	_ = append(events[0], "clobber"...)
	want, err = json.Marshal(&inc.Recorded[1])
	require.NoError(t, err)
	require.Equal(t, string(want), string(events[1]))
}
