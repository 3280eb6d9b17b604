package api_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/api"
	"github.com/klaxonhq/klaxon/escalate"
	"github.com/klaxonhq/klaxon/notify/email"
)

// TestAckLinkActsOnce: a mail link acknowledges once; after that, and
// after the incident triggered again, it and every link of a page before
// that change nothing (410); a link past its expiry neither; a GET only
// shows the page.
func TestAckLinkActsOnce(t *testing.T) {
	r := newRig(t)
	id := r.Open(t, "payments", klaxon.Sent{Notification: 1, User: "alice", Via: klaxon.ViaEmail, At: t0})
	ack := r.link(id, 1, email.ActionAck)
	resolve := r.link(id, 1, email.ActionResolve)

	code, body := do(t, http.MethodGet, ack, nil, nil)
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, body, "Acknowledge as alice")
	require.Equal(t, klaxon.StateTriggered, r.Incident(t, id).State, "a GET acts on nothing")

	r.Clock.Add(time.Minute)
	code, body = do(t, http.MethodPost, ack, nil, nil)
	require.Equal(t, http.StatusOK, code, body)
	require.Contains(t, body, "Done, by alice.")
	inc := r.Incident(t, id)
	require.Equal(t, klaxon.StateAcknowledged, inc.State)
	require.Equal(t, t0.Add(time.Minute), inc.AckedAt)

	r.Clock.Add(time.Minute)
	code, body = do(t, http.MethodPost, ack, nil, nil)
	require.Equal(t, http.StatusGone, code)
	require.Contains(t, body, "This link was used already")
	require.Equal(t, t0.Add(time.Minute), r.Incident(t, id).AckedAt, "unchanged")

	// The ack times out: the incident triggers again and pages alice anew.
	r.Clock.Add(30 * time.Minute)
	r.Update(t, id, func(inc *klaxon.Incident) {
		_, err := escalate.Walk(inc, r.Clock.Now(), func(klaxon.Step) ([]klaxon.User, []string, error) { return []klaxon.User{alice}, nil, nil }, nil)
		require.NoError(t, err)
	})
	inc = r.Incident(t, id)
	require.Equal(t, klaxon.StateTriggered, inc.State)
	require.Equal(t, 1, inc.WalkFrom)
	require.Len(t, inc.Pending, 1)

	for name, link := range map[string]string{"used": ack, "never used, of the earlier page": resolve} {
		code, body = do(t, http.MethodPost, link, nil, nil)
		require.Equal(t, http.StatusGone, code, name)
		require.Contains(t, body, "no longer acts", name)
		require.Equal(t, klaxon.StateTriggered, r.Incident(t, id).State, name)
	}
	code, body = do(t, http.MethodGet, resolve, nil, nil)
	require.Equal(t, http.StatusGone, code)
	require.NotContains(t, body, "<form", "no button for a link that no longer acts")

	// The new page's link acts.
	n := inc.Pending[0].ID
	code, body = do(t, http.MethodPost, r.link(id, n, email.ActionAck), nil, nil)
	require.Equal(t, http.StatusOK, code, body)
	require.Equal(t, klaxon.StateAcknowledged, r.Incident(t, id).State)

	// A link past its expiry is refused, and changes nothing.
	expiring := r.link(id, n, email.ActionResolve)
	r.Clock.Add(24 * time.Hour)
	for _, method := range []string{http.MethodGet, http.MethodPost} {
		code, body = do(t, method, expiring, nil, nil)
		require.Equal(t, http.StatusGone, code, method)
		require.Contains(t, body, "link expired at", method)
	}
	require.Equal(t, klaxon.StateAcknowledged, r.Incident(t, id).State)
}

// TestAckLinkFailedActLeavesLinkUsable: an act that the store could not
// commit did nothing and did not use the link: the answer is a 503 that
// says to try again and keeps the button, and the next POST acts, once.
func TestAckLinkFailedActLeavesLinkUsable(t *testing.T) {
	r := newRig(t)
	id := r.Open(t, "payments", klaxon.Sent{Notification: 1, User: "alice", Via: klaxon.ViaEmail, At: t0})
	ack := r.link(id, 1, email.ActionAck)

	r.Store.FailCommits(1)
	code, body := do(t, http.MethodPost, ack, nil, nil)
	require.Equal(t, http.StatusServiceUnavailable, code, body)
	require.Contains(t, body, "nothing was done; the link still works: try again")
	require.Contains(t, body, "Acknowledge as alice", "the button stays")
	require.NotContains(t, body, "no space left on device", "the store's error is logged, not shown")
	require.Equal(t, klaxon.StateTriggered, r.Incident(t, id).State)

	code, body = do(t, http.MethodGet, ack, nil, nil)
	require.Equal(t, http.StatusOK, code, body)
	require.Contains(t, body, "Acknowledge as alice")

	r.Clock.Add(time.Minute)
	code, body = do(t, http.MethodPost, ack, nil, nil)
	require.Equal(t, http.StatusOK, code, body)
	require.Contains(t, body, "Done, by alice.")
	inc := r.Incident(t, id)
	require.Equal(t, klaxon.StateAcknowledged, inc.State)
	require.Equal(t, t0.Add(time.Minute), inc.AckedAt)

	code, body = do(t, http.MethodPost, ack, nil, nil)
	require.Equal(t, http.StatusGone, code, body)
	require.Contains(t, body, "This link was used already")
}

// TestAckLinkUsedGET: opening a used link answers 410 and says so, with
// no button, as its POST does; the incident's other link still shows its
// button.
func TestAckLinkUsedGET(t *testing.T) {
	r := newRig(t)
	id := r.Open(t, "payments", klaxon.Sent{Notification: 1, User: "alice", Via: klaxon.ViaEmail, At: t0})
	ack := r.link(id, 1, email.ActionAck)
	resolve := r.link(id, 1, email.ActionResolve)
	code, body := do(t, http.MethodPost, ack, nil, nil)
	require.Equal(t, http.StatusOK, code, body)

	for _, method := range []string{http.MethodGet, http.MethodHead} {
		code, body = do(t, method, ack, nil, nil)
		require.Equal(t, http.StatusGone, code, method)
		if method == http.MethodGet {
			require.Contains(t, body, "This link was used already: it acts once.")
			require.NotContains(t, body, "<form")
		}
	}

	code, body = do(t, http.MethodGet, resolve, nil, nil)
	require.Equal(t, http.StatusOK, code, body)
	require.Contains(t, body, "Resolve as alice")
}

// TestAckLinkRemovedUser: once its user is removed from the config (a
// reload), a link shows no button and acts on nothing: 403, saying why.
func TestAckLinkRemovedUser(t *testing.T) {
	r := newRig(t)
	id := r.Open(t, "payments", klaxon.Sent{Notification: 1, User: "alice", Via: klaxon.ViaEmail, At: t0})
	ack := r.link(id, 1, email.ActionAck)
	code, body := do(t, http.MethodGet, ack, nil, nil)
	require.Equal(t, http.StatusOK, code, body)

	r.users.remove("alice")
	for _, method := range []string{http.MethodGet, http.MethodPost} {
		code, body = do(t, method, ack, nil, nil)
		require.Equal(t, http.StatusForbidden, code, method)
		require.Contains(t, body, "This link was mailed to alice, who is no longer a Klaxon user: it no longer acts.", method)
		require.NotContains(t, body, "<form", method)
	}
	require.Equal(t, klaxon.StateTriggered, r.Incident(t, id).State)
}

// TestAckLinkConcurrentPOSTs: of several POSTs of one link at once, one
// acts and the others answer 410; the timeline has one acknowledgement.
func TestAckLinkConcurrentPOSTs(t *testing.T) {
	r := newRig(t)
	id := r.Open(t, "payments", klaxon.Sent{Notification: 1, User: "alice", Via: klaxon.ViaEmail, At: t0})
	ack := r.link(id, 1, email.ActionAck)
	const n = 8
	codes := make(chan int, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			code, _ := do(t, http.MethodPost, ack, nil, nil)
			codes <- code
		})
	}
	wg.Wait()
	close(codes)
	got := map[int]int{}
	for c := range codes {
		got[c]++
	}
	require.Equal(t, map[int]int{http.StatusOK: 1, http.StatusGone: n - 1}, got)
	timeline, err := klaxon.ReadTimeline(t.Context(), r.Store, id)
	require.NoError(t, err)
	acks := 0
	for _, e := range timeline {
		if e.Kind == klaxon.EventAcknowledged {
			acks++
		}
	}
	require.Equal(t, 1, acks)
}

// meanwhile is a Commander that runs before ahead of the first Act it
// is asked for.
type meanwhile struct {
	api.Commander
	once   sync.Once
	before func()
}

func (m *meanwhile) Act(ctx context.Context, a klaxon.Action, id string, who klaxon.Actor) (*klaxon.Incident, error) {
	m.once.Do(m.before)
	return m.Commander.Act(ctx, a, id, who)
}

// TestAckLinkTriggeredAgainMeanwhile: a link of a page sent before the
// incident triggered again does not act on the new walk when the
// incident triggers again between the link's read of it and its act:
// the act's commit checks it too.
func TestAckLinkTriggeredAgainMeanwhile(t *testing.T) {
	r := newRig(t)
	id := r.Open(t, "payments", klaxon.Sent{Notification: 1, User: "alice", Via: klaxon.ViaEmail, At: t0})
	_, err := r.Engine.Acknowledge(t.Context(), id, klaxon.Actor{By: "bob", How: "api"})
	require.NoError(t, err)
	resolve := r.link(id, 1, email.ActionResolve)
	m := &meanwhile{Commander: r.Engine, before: func() {
		// The ack times out: the incident triggers again and pages alice anew.
		r.Clock.Add(30 * time.Minute)
		r.Update(t, id, func(inc *klaxon.Incident) {
			_, err := escalate.Walk(inc, r.Clock.Now(), func(klaxon.Step) ([]klaxon.User, []string, error) { return []klaxon.User{alice}, nil, nil }, nil)
			require.NoError(t, err)
		})
	}}
	srv := httptest.NewServer(api.New(api.Options{Store: r.Store, Commands: m, Links: r.links, Now: r.Clock.Now, Users: r.users,
		Log: slog.New(slog.DiscardHandler), Registry: prometheus.NewRegistry()}))
	defer srv.Close()

	code, body := do(t, http.MethodPost, srv.URL+strings.TrimPrefix(resolve, r.base), nil, nil)
	require.Equal(t, http.StatusGone, code, body)
	require.Contains(t, body, "no longer acts")
	inc := r.Incident(t, id)
	require.Equal(t, klaxon.StateTriggered, inc.State, "the new walk goes on")
	require.Equal(t, 1, inc.WalkFrom)
}
