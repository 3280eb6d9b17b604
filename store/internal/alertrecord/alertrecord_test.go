package alertrecord

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
)

func full() klaxon.AlertState {
	t0 := time.Date(2026, 11, 26, 10, 0, 0, 123456789, time.UTC)
	return klaxon.AlertState{
		Alert: klaxon.Alert{
			Key: "prometheus/07a170fa4e47b2eb", Integration: "prometheus", Status: klaxon.Resolved,
			Summary: "5xx ratio above 5% on payments", Severity: "critical", Source: "http://am:9093",
			Labels:      map[string]string{"alertname": "HighErrorRate", "service": "payments", "": "empty key"},
			Annotations: map[string]string{"runbook_url": "https://runbooks.example.com/5xx"},
			StartsAt:    t0.Add(-time.Hour), EndsAt: t0, URL: "http://prometheus/graph",
		},
		Count: 3, FirstSeen: time.Date(1969, 7, 20, 20, 17, 0, 0, time.UTC), LastSeen: t0,
	}
}

func TestRoundTrip(t *testing.T) {
	for name, a := range map[string]klaxon.AlertState{
		"every field":     full(),
		"only a key":      {Alert: klaxon.Alert{Key: "k", Status: klaxon.Firing}},
		"year 3000 start": {Alert: klaxon.Alert{Key: "k", Status: klaxon.Firing, StartsAt: time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC)}},
	} {
		t.Run(name, func(t *testing.T) {
			b, err := Encode(nil, &a)
			require.NoError(t, err)
			// Labels and annotations of common lengths fit in Size.
			require.LessOrEqual(t, len(b), Size(&a))
			got, err := Decode(b)
			require.NoError(t, err)
			require.Equal(t, a, got)
			seen, err := DecodeSeen(b)
			require.NoError(t, err)
			require.Equal(t, a.Seen(), seen)

			// Kept apart: the seen record reads as the whole one's start,
			// and the two are the whole one, less the second format byte.
			sr, err := EncodeSeen(nil, &a)
			require.NoError(t, err)
			dr := EncodeDetails(nil, &a)
			require.LessOrEqual(t, len(sr)+len(dr), Size(&a))
			require.Equal(t, b, append(append([]byte(nil), sr...), dr[1:]...))
			require.False(t, Apart(b))
			// With the digest of the details, the seen record carries it,
			// and it is the state's Stored once read.
			d := Digest(dr)
			sd, err := EncodeSeenDigest(nil, &a, d)
			require.NoError(t, err)
			_, err = Decode(sd)
			require.ErrorIs(t, err, errCorrupt, "its details are elsewhere")
			stored := a
			stored.Stored = d
			for seenRecord, want := range map[*[]byte]klaxon.AlertState{&sr: a, &sd: stored} {
				require.Equal(t, want.Stored != 0, Apart(*seenRecord))
				seen, err = DecodeSeen(*seenRecord)
				require.NoError(t, err)
				require.Equal(t, want.Seen(), seen)
				got, err = Join(*seenRecord, dr)
				require.NoError(t, err)
				require.Equal(t, want, got)
			}
		})
	}
}

// TestDigest: the digest is stored, so it never changes with the
// version that computes it; it follows every byte of the details.
func TestDigest(t *testing.T) {
	a := full()
	dr := EncodeDetails(nil, &a)
	require.Equal(t, uint64(0xdaf36de865cc4fbc), Digest(dr), "xxHash64 of the details record")
	a.Annotations["runbook_url"] += "/"
	require.NotEqual(t, Digest(dr), Digest(EncodeDetails(nil, &a)))
	_, err := EncodeSeenDigest(nil, &a, 0)
	require.ErrorContains(t, err, "zero digest")
}

func TestDeterministic(t *testing.T) {
	a := full()
	first, err := Encode(nil, &a)
	require.NoError(t, err)
	for range 20 {
		again, err := Encode(nil, &a)
		require.NoError(t, err)
		require.Equal(t, first, again, "labels in key order, whatever the map's")
	}
}

func TestErrors(t *testing.T) {
	bad := full()
	bad.Status = "pending"
	_, err := Encode(nil, &bad)
	require.ErrorContains(t, err, `status "pending"`)

	a := full()
	b, err := Encode(nil, &a)
	require.NoError(t, err)
	for name, in := range map[string][]byte{
		"empty":        nil,
		"other format": append([]byte{9}, b[1:]...),
		"truncated":    b[:len(b)-3],
		"trailing":     append(append([]byte(nil), b...), 0),
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Decode(in)
			require.ErrorIs(t, err, errCorrupt)
		})
	}
	seen, err := EncodeSeen(nil, &a)
	require.NoError(t, err)
	details := EncodeDetails(nil, &a)
	digest, err := EncodeSeenDigest(nil, &a, Digest(details))
	require.NoError(t, err)
	zero := append(append([]byte(nil), digest[:len(digest)-8]...), 0, 0, 0, 0, 0, 0, 0, 0)
	for name, in := range map[string][]byte{
		"digest truncated": digest[:len(digest)-1],
		"digest zero":      zero,
		"after the digest": append(append([]byte(nil), digest...), 0),
	} {
		t.Run(name, func(t *testing.T) {
			_, err := DecodeSeen(in)
			require.ErrorIs(t, err, errCorrupt)
			_, err = Join(in, details)
			require.ErrorIs(t, err, errCorrupt)
		})
	}
	for name, in := range map[string][2][]byte{
		"whole for seen":      {b, details},
		"seen for details":    {seen, seen},
		"details truncated":   {seen, details[:len(details)-1]},
		"details of a format": {seen, append([]byte{9}, details[1:]...)},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Join(in[0], in[1])
			require.ErrorIs(t, err, errCorrupt)
		})
	}
}

// FuzzDecode: any bytes decode or fail with errCorrupt, never panic; what
// decodes encodes back to a record that decodes the same.
//
//	go test -run='^$' -fuzz=FuzzDecode -fuzztime=15s ./store/internal/alertrecord
func FuzzDecode(f *testing.F) {
	a := full()
	b, _ := Encode(nil, &a)
	f.Add(b)
	f.Add([]byte{1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	j, _ := json.Marshal(&a)
	f.Add(j)
	details := EncodeDetails(nil, &a)
	digest, _ := EncodeSeenDigest(nil, &a, Digest(details))
	f.Add(digest)
	f.Fuzz(func(t *testing.T, in []byte) {
		got, err := Decode(in)
		if _, serr := DecodeSeen(in); err == nil {
			require.NoError(t, serr, "a whole record has a readable start")
		}
		if err != nil {
			require.ErrorIs(t, err, errCorrupt)
			return
		}
		again, err := Encode(nil, &got)
		require.NoError(t, err)
		back, err := Decode(again)
		require.NoError(t, err)
		require.Equal(t, got, back)
		seen, err := EncodeSeen(nil, &got)
		require.NoError(t, err)
		details := EncodeDetails(nil, &got)
		back, err = Join(seen, details)
		require.NoError(t, err)
		require.Equal(t, got, back)
	})
}

// FuzzJoin: any two records join or fail with errCorrupt, never panic.
//
//	go test -run='^$' -fuzz=FuzzJoin -fuzztime=15s ./store/internal/alertrecord
func FuzzJoin(f *testing.F) {
	a := full()
	seen, _ := EncodeSeen(nil, &a)
	details := EncodeDetails(nil, &a)
	f.Add(seen, details)
	f.Add(seen, seen)
	digest, _ := EncodeSeenDigest(nil, &a, Digest(details))
	f.Add(digest, details)
	f.Fuzz(func(t *testing.T, seen, details []byte) {
		got, err := Join(seen, details)
		if err != nil {
			require.ErrorIs(t, err, errCorrupt)
			return
		}
		s, err := DecodeSeen(seen)
		require.NoError(t, err)
		require.Equal(t, s, got.Seen())
	})
}

// TestJSONRecords: a record as the first per-alert layout wrote it, the
// alert state as JSON, reads as it was.
func TestJSONRecords(t *testing.T) {
	a := full()
	b, err := json.Marshal(&a)
	require.NoError(t, err)
	got, err := Decode(b)
	require.NoError(t, err)
	require.Equal(t, a, got)
	seen, err := DecodeSeen(b)
	require.NoError(t, err)
	require.Equal(t, a.Seen(), seen)
	_, err = Decode([]byte(`{"status":"pending"}`))
	require.ErrorIs(t, err, errCorrupt)
	_, err = Decode([]byte(`{"key":`))
	require.ErrorIs(t, err, errCorrupt)
}

// BenchmarkEncode encodes a body of 100 alerts as a commit does: Size
// for the buffer, then each alert's record into it.
func BenchmarkEncode(b *testing.B) {
	alerts := make([]klaxon.AlertState, 100)
	for i := range alerts {
		alerts[i] = full()
		alerts[i].Labels = map[string]string{"alertname": "NodeDown", "instance": "10.0.0." + string(rune('a'+i%26)) + ":9100",
			"job": "node", "severity": "warning", "service": "payments", "team": "sre"}
	}
	for b.Loop() {
		size := 0
		for i := range alerts {
			size += Size(&alerts[i])
		}
		arena := make([]byte, 0, size)
		for i := range alerts {
			var err error
			if arena, err = Encode(arena, &alerts[i]); err != nil {
				b.Fatal(err)
			}
		}
	}
}
