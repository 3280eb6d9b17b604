package api_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/notify/email"
)

// TestAckLinkOfResolvedIncident: once someone else resolved the
// incident, its mail links have nothing left to do. Opening one says
// that it is resolved and by whom, with no button to press (a button
// that only answers "cannot acknowledge" is a second tap for nothing, at
// 3 a.m.); its POST says the same, and changes nothing.
func TestAckLinkOfResolvedIncident(t *testing.T) {
	r := newRig(t)
	id := r.Open(t, "payments", klaxon.Sent{Notification: 1, User: "alice", Via: klaxon.ViaEmail, At: t0})
	r.Clock.Add(time.Minute)
	_, err := r.Engine.Resolve(t.Context(), id, klaxon.Actor{By: "bob", How: "api"})
	require.NoError(t, err)
	resolvedAt := r.Incident(t, id).ResolvedAt

	for _, action := range []string{email.ActionAck, email.ActionResolve} {
		link := r.link(id, 1, action)
		for _, method := range []string{http.MethodGet, http.MethodPost} {
			code, body := do(t, method, link, nil, nil)
			require.Equal(t, http.StatusConflict, code, "%s %s: %s", method, action, body)
			require.Contains(t, body, "resolved by bob", method, action)
			require.Contains(t, body, "Nothing was done.", method, action)
			require.NotContains(t, body, "<form", method, action)
		}
	}
	inc := r.Incident(t, id)
	require.Equal(t, klaxon.StateResolved, inc.State)
	require.Equal(t, "bob", inc.ResolvedBy)
	require.Equal(t, resolvedAt, inc.ResolvedAt)
}
