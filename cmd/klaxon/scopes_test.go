package main

import (
	"bytes"
	"io"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
)

// TestTokenScopes: against the real server, a read-only token reads but
// may not acknowledge, from the API or the CLI; a token that may act for
// others acknowledges for alice, and the timeline records alice and the
// token. The CLI acts as its token unless --by says otherwise.
func TestTokenScopes(t *testing.T) {
	base, logs, _ := startServe(t, writeConfig(t, time.Hour))
	postFixture(t, base, "firing-two-alerts.json")
	id := findIncident(t, base, "HighErrorRate").ID
	waitFor(t, "step one pages", func() bool { return len(logs.pagesFor(id)) == 1 })

	code, out := post(t, base+"/v1/incidents/"+id+"/ack", readToken, "", nil)
	require.Equal(t, http.StatusForbidden, code, out)
	require.Equal(t, `token "viewer" lacks scope "act"`, out["error"])
	var o, e bytes.Buffer
	err := run(t.Context(), []string{"ack", id, "--server", base, "--token", readToken}, &o, &e)
	require.ErrorContains(t, err, "403")
	require.ErrorContains(t, err, `lacks scope "act"`)
	require.NoError(t, run(t.Context(), []string{"incidents", "--server", base, "--token", readToken}, &o, &e), "a read-only token reads")
	require.Contains(t, o.String(), id)
	require.Equal(t, klaxon.StateTriggered, getIncident(t, base, id).State)

	code, out = post(t, base+"/v1/incidents/"+id+"/ack", apiToken, "application/json", []byte(`{"by": "alice"}`))
	require.Equal(t, http.StatusOK, code, out)
	require.Equal(t, "alice", out["acked_by"])
	inc := getIncident(t, base, id)
	ack := inc.Timeline[slices.Index(eventKinds(inc), klaxon.EventAcknowledged)]
	require.Equal(t, "alice", ack.By)
	require.Equal(t, "ops", ack.ViaToken)
	require.Equal(t, "api", ack.How)

	o.Reset()
	require.NoError(t, run(t.Context(), []string{"incident", "timeline", id, "--server", base, "--token", readToken}, &o, &e))
	require.Contains(t, o.String(), "alice (api via token ops)")

	// The read-only token may not name someone either: it may not act.
	code, out = post(t, base+"/v1/incidents/"+id+"/resolve", readToken, "application/json", []byte(`{"by": "alice"}`))
	require.Equal(t, http.StatusForbidden, code, out)

	// The CLI names nobody unless told to (--by): the token acts, and a
	// token without act_as works as well.
	t.Setenv("USER", "mallory")
	require.NoError(t, run(t.Context(), []string{"resolve", id, "--server", base, "--token", apiToken}, &o, &e))
	inc = getIncident(t, base, id)
	resolved := inc.Timeline[slices.Index(eventKinds(inc), klaxon.EventResolved)]
	require.Equal(t, klaxon.Actor{By: "ops", How: "cli"}, klaxon.Actor{By: resolved.By, How: resolved.How, ViaToken: resolved.ViaToken})
}

// TestFeedTokenRevoked: a feed token reads its schedule's calendar until
// it is removed from the config, and the config reloads.
func TestFeedTokenRevoked(t *testing.T) {
	config := writeScheduleConfig(t, time.Hour)
	base, _, _ := startServe(t, config)
	feed := func() int {
		resp, err := http.Get(base + "/v1/schedules/primary.ics?token=" + feedToken)
		require.NoError(t, err)
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	require.Equal(t, http.StatusOK, feed())
	rewrite(t, config, "  feed_tokens: [{name: calendar, schedule: primary, token: "+feedToken+"}]\n", "")
	waitFor(t, "the feed token is revoked", func() bool { return feed() == http.StatusUnauthorized })
}
