package twilio_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/escalate"
	"github.com/klaxonhq/klaxon/internal/twiliotest"
	"github.com/klaxonhq/klaxon/notify/twilio"
	"github.com/klaxonhq/klaxon/store/embedded"
)

var t0 = time.Date(2026, 11, 23, 22, 0, 0, 0, time.UTC)

const (
	alicePhone = "+15550100001"
	authToken  = "0123456789abcdef0123456789abcdef"
)

// clock is a settable time.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

type phonebook struct{}

func (phonebook) UserByPhone(phone string) (klaxon.User, bool) {
	return klaxon.User{ID: "alice", Phone: alicePhone}, phone == alicePhone
}

type nobody struct{}

func (nobody) Notify(context.Context, klaxon.Page) error { return nil }

// flaky is a store whose next commits fail as a store that cannot write
// fails.
type flaky struct {
	*embedded.Store
	failures atomic.Int32
}

func (f *flaky) Commit(ctx context.Context, c klaxon.Commit) error {
	if f.failures.Add(-1) >= 0 {
		return fmt.Errorf("commit: no space left on device: %w", klaxon.ErrUnavailable)
	}
	f.failures.Store(0)
	return f.Store.Commit(ctx, c)
}

// memory is the store's memory of callbacks, which fails while down is
// set, as a store that cannot be reached fails.
type memory struct {
	*embedded.Store
	down atomic.Bool
}

func (m *memory) FirstTime(ctx context.Context, key string, now time.Time, ttl time.Duration) (bool, error) {
	if m.down.Load() {
		return false, fmt.Errorf("first time: connection refused: %w", klaxon.ErrUnavailable)
	}
	return m.Store.FirstTime(ctx, key, now, ttl)
}

var _ twilio.Responder = (*escalate.Engine)(nil)

// rig is Twilio's callbacks on an embedded store and the real engine,
// on a fake clock.
type rig struct {
	st    *embedded.Store
	clock *clock
	// engine is the store as the engine writes it.
	engine *flaky
	memory *memory
	// auth is what the callbacks check, nil for Twilio not configured.
	auth atomic.Pointer[twilio.CallbackAuth]
	base string
}

func newRig(t *testing.T) *rig {
	t.Helper()
	st, err := embedded.Open(filepath.Join(t.TempDir(), "klaxon.db"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	c := &clock{now: t0}
	log := slog.New(slog.DiscardHandler)
	r := &rig{st: st, clock: c, engine: &flaky{Store: st}, memory: &memory{Store: st}}
	eng := escalate.New(r.engine, nobody{}, nil, log, escalate.Options{Now: c.Now})
	srv := httptest.NewServer(twilio.NewCallbacks(twilio.CallbackOptions{Auth: r.auth.Load, Responder: eng, Incidents: st,
		Phonebook: phonebook{}, Memory: r.memory, Now: c.Now, Log: log}))
	t.Cleanup(srv.Close)
	r.base = srv.URL
	r.auth.Store(&twilio.CallbackAuth{AuthToken: authToken, PublicURL: srv.URL})
	return r
}

// policy pages alice, and re-triggers 30 minutes after an ack.
var policy = klaxon.Policy{Name: "p", AckTimeout: 30 * time.Minute, Steps: []klaxon.Step{{Targets: []klaxon.Target{{Kind: klaxon.TargetUser, Name: "alice"}}}}}

// open stores a triggered incident of group with the pages sent.
func (r *rig) open(t *testing.T, group string, sent ...klaxon.Sent) string {
	t.Helper()
	ctx := t.Context()
	id, err := r.st.NextIncidentID(ctx)
	require.NoError(t, err)
	inc := &klaxon.Incident{ID: id, Group: group, Summary: group + " is down", State: klaxon.StateTriggered, CreatedAt: r.clock.Now(),
		Labels: map[string]string{"service": group}, Policy: policy, Escalation: klaxon.Escalation{Step: 0}, Sent: sent, Seq: len(sent)}
	require.NoError(t, klaxon.Update(ctx, r.st, group, nil, func(klaxon.Group) (*klaxon.Commit, error) {
		return &klaxon.Commit{Open: id, Incidents: []*klaxon.Incident{inc}}, nil
	}))
	return id
}

// update changes incident id as the engine would.
func (r *rig) update(t *testing.T, id string, fn func(*klaxon.Incident)) {
	t.Helper()
	ctx := t.Context()
	stored, err := r.st.Incident(ctx, id)
	require.NoError(t, err)
	require.NoError(t, klaxon.Update(ctx, r.st, stored.Group, nil, func(g klaxon.Group) (*klaxon.Commit, error) {
		inc := g.Open.Header()
		fn(inc)
		return &klaxon.Commit{Open: id, Incidents: []*klaxon.Incident{inc}}, nil
	}))
}

func (r *rig) incident(t *testing.T, id string) *klaxon.Incident {
	t.Helper()
	inc, err := r.st.Incident(t.Context(), id)
	require.NoError(t, err)
	return inc
}

// post sends a callback to path (with its query) signed with signature,
// or as Twilio signs it when signature is "", and returns the status and
// body.
func (r *rig) post(t *testing.T, path string, form url.Values, signature string) (int, string) {
	t.Helper()
	u := r.base + path
	if signature == "" {
		signature = twiliotest.Sign(authToken, u, form)
	}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, u, strings.NewReader(form.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set(twilio.SignatureHeader, signature)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

// sms sends a signed SMS reply from alice, as Twilio would.
func (r *rig) sms(t *testing.T, sid, body string) string {
	t.Helper()
	code, out := r.post(t, twilio.SMSPath, url.Values{"MessageSid": {sid}, "From": {alicePhone}, "To": {"+15550100000"}, "Body": {body}}, "")
	require.Equal(t, http.StatusOK, code, out)
	return out
}
