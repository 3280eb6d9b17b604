package webhook

import (
	"bytes"
	"encoding/json"
	"math"
	"testing"
)

func FuzzVerify(f *testing.F) {
	payload, err := json.Marshal(NewPayload(page, public, t0))
	if err != nil {
		f.Fatal(err)
	}
	ts := t0.Unix()
	f.Add(secret, ts, payload, Sign(secret, ts, payload))
	f.Add(secret, ts, payload, "sha256=")
	f.Add(secret, ts, payload, "sha256=zz")
	f.Add(secret, int64(0), []byte{}, Sign(secret, 0, nil))
	f.Add("", ts, payload, Sign("", ts, payload))
	f.Add("k", int64(-1), []byte("\x00\xff"), "SHA256="+Sign("k", -1, []byte("\x00\xff"))[7:])
	f.Add("ü", int64(math.MaxInt64), []byte("."), "")
	f.Add("ü", int64(math.MinInt64), []byte("1.x"), "sha256=0000")
	f.Fuzz(func(t *testing.T, secret string, ts int64, body []byte, header string) {
		// Any input: no panic, and only the right signature passes.
		if Verify(secret, header, ts, body) && (secret == "" || !bytes.EqualFold([]byte(header), []byte(Sign(secret, ts, body)))) {
			t.Fatalf("Verify(%q, %q, %d, %q) = true for a wrong signature", secret, header, ts, body)
		}

		sig := Sign(secret, ts, body)
		if secret == "" {
			if Verify(secret, sig, ts, body) {
				t.Fatalf("Verify with an empty secret = true")
			}
			return
		}
		// Sign, then Verify: true.
		if !Verify(secret, sig, ts, body) {
			t.Fatalf("Verify(%q, Sign(...), %d, %q) = false", secret, ts, body)
		}
		// Any change to the body, or another timestamp: false.
		changed := [][]byte{append(bytes.Clone(body), 0), append([]byte{'x'}, body...)}
		if len(body) > 0 {
			flipped := bytes.Clone(body)
			flipped[len(body)/2] ^= 1
			changed = append(changed, flipped, body[:len(body)-1])
		}
		for _, c := range changed {
			if Verify(secret, sig, ts, c) {
				t.Fatalf("Verify(%q, %q, %d, %q) = true for the signature of %q", secret, sig, ts, c, body)
			}
		}
		if Verify(secret, sig, ts^1, body) {
			t.Fatalf("Verify at timestamp %d = true for the signature at %d", ts^1, ts)
		}
	})
}
