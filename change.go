package klaxon

import (
	"bytes"
	"context"
	"encoding/json"
	"time"
)

// Change is a change event: a deploy, a configuration push, a migration,
// as a tool sends it to PagerDuty's /v2/change/enqueue. A change is not
// an alert: it opens no incident and pages nobody. It is kept for the
// review of the incidents that open after it, beside the alerts of its
// integration.
type Change struct {
	// ID is the store's, given when it is put.
	ID          string `json:"id"`
	Integration string `json:"integration"`
	Summary     string `json:"summary"`
	Source      string `json:"source,omitempty"`
	// At is when the change happened: the sender's payload.timestamp,
	// else when it was received.
	At         time.Time `json:"at"`
	ReceivedAt time.Time `json:"received_at"`
	// Details are the sender's custom_details: strings as they are,
	// other values as JSON.
	Details map[string]string `json:"custom_details,omitempty"`
	Links   []Link            `json:"links,omitempty"`
	// Digest, when set, names the event as its sender sent it (a hash of
	// its body): a store that may answer an error for a change it stored
	// (Redis, waiting for replicas) keeps it with the change until the
	// sender is answered 2xx, within ChangeRetryWindow, and a change put
	// again with it meanwhile is that one. Not stored.
	Digest string `json:"-"`
}

// ChangeRetryWindow is how long a change's Digest is remembered: a
// sender's retries of it come within it.
const ChangeRetryWindow = 10 * time.Minute

// Link is a link that came with a change: a build, a pull request.
type Link struct {
	Href string `json:"href"`
	Text string `json:"text,omitempty"`
}

// ChangeBounds bound what a ChangeStore keeps of each integration's
// changes, so that a sender in a loop, or a leaked routing key, cannot
// fill the disk or Redis. A zero field is DefaultChangeBounds'.
type ChangeBounds struct {
	// Age: a change whose At is older than Age before a put is dropped
	// by it.
	Age time.Duration
	// Count: past Count changes, the oldest (by At) are dropped.
	Count int
}

// DefaultChangeBounds keep 90 days of changes, as PagerDuty does, and at
// most 5,000 of each integration: at most some 32 KiB each as stored
// (see EncodeChange), some 160 MB.
var DefaultChangeBounds = ChangeBounds{Age: 90 * 24 * time.Hour, Count: 5_000}

// EncodeChange is c as the stores keep it: JSON, with <, > and & as they
// are (encoding/json would write each as 6 bytes), so that a change's
// text takes at most twice its bytes (a quote, a backslash or a newline
// takes two; ingest turns the other control characters to spaces).
func EncodeChange(c Change) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(c); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// WithDefaults returns b with each zero (or negative) field set to
// DefaultChangeBounds'.
func (b ChangeBounds) WithDefaults() ChangeBounds {
	if b.Age <= 0 {
		b.Age = DefaultChangeBounds.Age
	}
	if b.Count <= 0 {
		b.Count = DefaultChangeBounds.Count
	}
	return b
}

// ChangeStore keeps change events, by integration.
type ChangeStore interface {
	// PutChange stores c under a new ID, unique among its integration's
	// changes, and returns it. With it, it drops the changes of c's
	// integration (c among them) whose At is older than b.Age before
	// now, and the oldest past b.Count. c's integration may not be empty
	// nor hold a zero byte.
	PutChange(ctx context.Context, c Change, now time.Time, b ChangeBounds) (Change, error)
	// Changes lists up to limit changes of integration whose At is in
	// [from, to], newest first; of the same At, the last put first.
	Changes(ctx context.Context, integration string, from, to time.Time, limit int) ([]Change, error)
}
