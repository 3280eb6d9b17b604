package api

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/fakeclock"
	"github.com/klaxonhq/klaxon/internal/incidenttest"
)

// pausingStore holds the first read of an incident's alerts until
// released: the moment one merge is between reading a page of src and
// committing it.
type pausingStore struct {
	*incidenttest.Store
	once    sync.Once
	reached chan struct{}
	release chan struct{}
}

func (s *pausingStore) IncidentAlerts(ctx context.Context, id, cursor string, limit int) ([]klaxon.AlertState, string, error) {
	first := false
	s.once.Do(func() { first = true })
	if first {
		close(s.reached)
		<-s.release
	}
	return s.Store.IncidentAlerts(ctx, id, cursor, limit)
}

// engineServer is the API with fake tokens on the real engine's
// commands over st.
func engineServer(t *testing.T, st klaxon.Store) *Server {
	t.Helper()
	clock := fakeclock.New(time.Date(2026, 11, 23, 22, 0, 0, 0, time.UTC))
	s, _ := testServer(t, func(o *Options) {
		o.Store = st
		o.Commands = incidenttest.NewEngine(st, clock.Now)
		o.Now = clock.Now
	})
	return s
}

// TestMergeRetryAfterTargetResolved: a merge answered 200 and sent again
// with its Idempotency-Key (its answer was lost) is answered as done, as
// every keyed command is, also once the target resolved meanwhile. It was
// answered 409 "cannot merge into incident: it is resolved".
func TestMergeRetryAfterTargetResolved(t *testing.T) {
	st := incidenttest.NewStore(t)
	s := engineServer(t, st)
	at := time.Date(2026, 11, 23, 22, 0, 0, 0, time.UTC)
	src := st.OpenIncident(t, "db", at)
	dst := st.OpenIncident(t, "api", at)

	send := func() (int, string) { return keyedMerge(s, src, dst) }
	code, body := send()
	require.Equal(t, http.StatusOK, code, body)

	code, body = call(s, "POST", "/v1/incidents/"+dst+"/resolve", actToken, "")
	require.Equal(t, http.StatusOK, code, body)

	code, body = send() // the client's retry of the merge whose answer it lost
	require.Equal(t, http.StatusOK, code, "a keyed merge sent again is answered as done: %s", body)
}

// TestMergeConcurrentSameKey: a client that times out and retries a
// merge with the same Idempotency-Key while the first request is still
// copying pages: the merge is done once, and each request is answered
// 200. The first, overtaken by its own retry, was answered 409 "another
// merge of it is under way".
func TestMergeConcurrentSameKey(t *testing.T) {
	inner := incidenttest.NewStore(t)
	st := &pausingStore{Store: inner, reached: make(chan struct{}), release: make(chan struct{})}
	s := engineServer(t, st)
	at := time.Date(2026, 11, 23, 22, 0, 0, 0, time.UTC)
	src := inner.OpenIncident(t, "db", at)
	dst := inner.OpenIncident(t, "api", at)

	send := func() (int, string) { return keyedMerge(s, src, dst) }
	type answer struct {
		code int
		body string
	}
	first := make(chan answer, 1)
	go func() {
		code, body := send()
		first <- answer{code, body}
	}()
	<-st.reached // the first request read src's first page of alerts

	code, body := send() // the retry, with the same key
	require.Equal(t, http.StatusOK, code, body)
	close(st.release)
	a := <-first
	require.Equal(t, http.StatusOK, a.code, "the first request of a keyed merge done once: %s", a.body)

	var inc klaxon.Incident
	require.NoError(t, json.Unmarshal([]byte(body), &inc))
	require.Equal(t, 1, inner.CountEvents(t, dst, func(e klaxon.Event) bool { return e.Kind == klaxon.EventMerged }))
}

// keyedMerge merges src into dst through the API, with one
// Idempotency-Key for every call.
func keyedMerge(s *Server, src, dst string) (int, string) {
	return call(s, "POST", "/v1/incidents/"+src+"/merge", actToken, `{"into": "`+dst+`"}`, "Idempotency-Key", "merge-1")
}

// TestKeyReusedWithOtherArguments: the same Idempotency-Key with other
// arguments (assign carol, after assign bob) is not the same command sent
// again, and acts; the same arguments sent again act once. Before, the
// key alone named the command: the second assign was answered 200 and
// did nothing.
func TestKeyReusedWithOtherArguments(t *testing.T) {
	st := incidenttest.NewStore(t)
	s := engineServer(t, st)
	id := st.OpenIncident(t, "db", time.Date(2026, 11, 23, 22, 0, 0, 0, time.UTC))
	assign := func(user string) {
		t.Helper()
		code, body := call(s, "POST", "/v1/incidents/"+id+"/assign", actToken, `{"user": "`+user+`"}`, "Idempotency-Key", "k1")
		require.Equal(t, http.StatusOK, code, body)
	}
	assign("bob")
	assign("carol")
	require.Equal(t, "carol", st.ReadIncident(t, id).Assignee)
	assign("bob")
	require.Equal(t, "carol", st.ReadIncident(t, id).Assignee, "bob's assign, sent again, acted once")
}
