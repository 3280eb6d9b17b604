package twilio_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/twiliotest"
	"github.com/klaxonhq/klaxon/notify/twilio"
)

// duringDelivery is the engine, with a hook run once as the report of
// one page is being recorded: what comes meanwhile.
type duringDelivery struct {
	twilio.Responder
	page   int
	during func()
}

func (d *duringDelivery) Delivery(ctx context.Context, id string, n int, ok bool, detail string) error {
	if n == d.page && d.during != nil {
		f := d.during
		d.during = nil
		f()
	}
	return d.Responder.Delivery(ctx, id, n, ok, detail)
}

// TestReplayCutOtherwiseWhileRecorded: a captured report of page 12,
// replayed cut otherwise as one of page 1 ("n=1", then "2ErrorCode")
// while the report as it came is being recorded, acts no more than it
// does once that report is recorded: page 1, which reached alice, is
// not recorded failed.
func TestReplayCutOtherwiseWhileRecorded(t *testing.T) {
	r := newRig(t)
	id := r.Open(t, "payments",
		klaxon.Sent{Notification: 1, User: "alice", Via: klaxon.ViaSMS, At: t0},
		klaxon.Sent{Notification: 12, User: "alice", Via: klaxon.ViaSMS, At: t0})
	resp := &duringDelivery{Responder: r.Engine, page: 12}
	srv := httptest.NewServer(twilio.NewCallbacks(twilio.CallbackOptions{Auth: r.auth.Load, Responder: resp, Incidents: r.Store,
		Phonebook: phonebook{}, Memory: r.memory, Now: r.Clock.Now, Log: slog.New(slog.DiscardHandler)}))
	t.Cleanup(srv.Close)
	r.base = srv.URL
	r.auth.Store(&twilio.CallbackAuth{AuthToken: authToken, PublicURL: srv.URL})

	path := twilio.StatusPath + "?incident=" + id + "&n=12"
	report := url.Values{"ErrorCode": {"30003"}, "MessageSid": {"SM1"}, "MessageStatus": {"undelivered"}}
	sig := twiliotest.Sign(authToken, r.base+path, report)
	moved := url.Values{"2ErrorCode": {"30003"}, "MessageSid": {"SM1"}, "MessageStatus": {"undelivered"}}
	var replayed int
	resp.during = func() {
		replayed, _ = r.post(t, twilio.StatusPath+"?incident="+id+"&n=1", moved, sig)
	}
	code, out := r.post(t, path, report, sig)
	require.Equal(t, http.StatusNoContent, code, out)
	require.Equal(t, http.StatusForbidden, replayed, "a field no Twilio callback has")

	inc := r.Incident(t, id)
	require.True(t, inc.FindSent(12).Failed, "page 12's report was recorded")
	require.False(t, inc.FindSent(1).Failed, "page 1 recorded as failed by page 12's report, replayed cut otherwise")
}
