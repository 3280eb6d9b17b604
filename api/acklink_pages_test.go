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

// TestAckLinkStalePages: the pages of links that cannot act speak to
// the person who opened them at 3 a.m.: an expired link names its
// incident, says nothing was done, how long links work, and links to
// the incident in the console, where they can act; a link cut short by
// a mail app, or changed, says so in words rather than in Go's.
func TestAckLinkStalePages(t *testing.T) {
	r := newRig(t)
	id := r.Open(t, "payments", klaxon.Sent{Notification: 1, User: "alice", Via: klaxon.ViaEmail, At: t0})
	ack := r.link(id, 1, email.ActionAck)

	r.Clock.Add(25 * time.Hour)
	code, body := do(t, http.MethodGet, ack, nil, nil)
	require.Equal(t, http.StatusGone, code, body)
	require.Contains(t, body, "Incident #"+id)
	require.Contains(t, body, "This link expired at 2026-11-24 22:00 UTC")
	require.Contains(t, body, "24 hours")
	require.Contains(t, body, "Nothing was done.")
	require.Contains(t, body, `href="../..`+klaxon.IncidentPath+id+`"`, "relative to the link: public_url may have a path")
	require.NotContains(t, body, "<form")

	for name, link := range map[string]string{
		"cut short": ack[:len(ack)-20],
		"changed":   ack[:len(ack)-2] + "AA",
	} {
		code, body = do(t, http.MethodGet, link, nil, nil)
		require.Contains(t, []int{http.StatusBadRequest, http.StatusForbidden}, code, name)
		require.Contains(t, body, "This link is not whole, or was changed", name)
		require.Contains(t, body, "Nothing was done.", name)
		for _, jargon := range []string{"link token", "invalid", "unauthorized", "base64"} {
			require.NotContains(t, body, jargon, name)
		}
	}
}
