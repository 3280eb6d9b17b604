package twilio_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/escalate"
	"github.com/klaxonhq/klaxon/internal/incidenttest"
	"github.com/klaxonhq/klaxon/internal/twiliotest"
	"github.com/klaxonhq/klaxon/notify/twilio"
	"github.com/klaxonhq/klaxon/store/embedded"
)

var t0 = time.Date(2026, 11, 23, 22, 0, 0, 0, time.UTC)

const (
	alicePhone = "+15550100001"
	authToken  = "0123456789abcdef0123456789abcdef"
)

type phonebook struct{}

func (phonebook) UserByPhone(phone string) (klaxon.User, bool) {
	return klaxon.User{ID: "alice", Phone: alicePhone}, phone == alicePhone
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

// incidents reads the store's incidents, and fails while down is set,
// as a store that cannot be reached fails.
type incidents struct {
	*incidenttest.Store
	down atomic.Bool
}

func (i *incidents) Incident(ctx context.Context, id string) (*klaxon.Incident, error) {
	if i.down.Load() {
		return nil, fmt.Errorf("incident: connection refused: %w", klaxon.ErrUnavailable)
	}
	return i.Store.Incident(ctx, id)
}

var _ twilio.Responder = (*escalate.Engine)(nil)

// rig is Twilio's callbacks on an embedded store and the real engine,
// on a fake clock.
type rig struct {
	*incidenttest.Rig
	memory *memory
	// reads is what the callbacks read incidents from.
	reads *incidents
	// auth is what the callbacks check, nil for Twilio not configured.
	auth atomic.Pointer[twilio.CallbackAuth]
	base string
}

func newRig(t *testing.T) *rig {
	t.Helper()
	r := &rig{Rig: incidenttest.NewRig(t, t0)}
	r.memory = &memory{Store: r.Store.Store}
	r.reads = &incidents{Store: r.Store}
	srv := httptest.NewServer(twilio.NewCallbacks(twilio.CallbackOptions{Auth: r.auth.Load, Responder: r.Engine, Incidents: r.reads,
		Phonebook: phonebook{}, Memory: r.memory, Now: r.Clock.Now, Log: slog.New(slog.DiscardHandler)}))
	t.Cleanup(srv.Close)
	r.base = srv.URL
	r.auth.Store(&twilio.CallbackAuth{AuthToken: authToken, PublicURL: srv.URL})
	return r
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

// answer answers, as alice (a person), the call of notification 1 of
// incident id, and returns its TwiML.
func (r *rig) answer(t *testing.T, id string) string {
	t.Helper()
	code, out := r.post(t, twilio.VoicePath+"?incident="+id+"&n=1", url.Values{"CallSid": {"CA1"}, "To": {alicePhone}, "AnsweredBy": {"human"}}, "")
	require.Equal(t, http.StatusOK, code, out)
	return out
}

// press posts the key digits, pressed by alice on that call, to path
// (a Gather's action; gatherPath for the first menu's), and returns the
// TwiML.
func (r *rig) press(t *testing.T, path, digits string) string {
	t.Helper()
	code, out := r.post(t, path, url.Values{"CallSid": {"CA1"}, "To": {alicePhone}, "Digits": {digits}}, "")
	require.Equal(t, http.StatusOK, code, out)
	return out
}

// gatherPath is where the first menu of the call of notification 1 of
// incident id posts its key.
func gatherPath(id string) string {
	return twilio.VoicePath + "?incident=" + id + "&n=1&step=gather"
}
