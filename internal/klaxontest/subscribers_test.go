package klaxontest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestSubscribersGetUpdates: a policy's subscribers hear that its
// incident opened, was acknowledged, got a status update and resolved,
// by mail and by webhook, and are never paged; a plain note is no
// update.
func TestSubscribersGetUpdates(t *testing.T) {
	hook, posts := statusPage(t)
	h := Start(t, Config{
		Policies: []Policy{{Name: "default", Steps: []Step{{Targets: []string{"user:alice"}}}, Subscribers: []string{"user:carol", hook + "/status"}}},
		Users: []User{
			{ID: "alice", Phone: "+15550100001", Notify: []Rule{SMS(0)}},
			{ID: "carol", Email: "carol@example.com", Notify: []Rule{Email(time.Hour)}},
		},
	})
	body, err := os.ReadFile("testdata/firing-two-alerts.json")
	require.NoError(t, err)
	h.Alertmanager(body)
	h.Phone("+15550100001").ExpectSMS()
	inc := h.OpenIncident("HighErrorRate")

	expect := func(update, text string) {
		t.Helper()
		m := h.ExpectMail("carol@example.com")
		require.Contains(t, string(m.Data), "X-Klaxon-Update: "+update)
		require.Contains(t, string(m.Data), "[Klaxon #"+inc.ID+"]")
		require.Contains(t, string(m.Data), text)
		require.NotContains(t, string(m.Data), "/v1/ack/", "an update asks for no act")
		select {
		case p := <-posts:
			require.Equal(t, "update", p["type"])
			require.Equal(t, update, p["update"])
			require.Contains(t, p["text"], text)
		case <-time.After(10 * time.Second):
			t.Fatalf("no webhook update %s", update)
		}
	}
	expect("opened", "Incident #"+inc.ID+" opened")
	code, out := h.Do(http.MethodPost, "/v1/incidents/"+inc.ID+"/notes", map[string]any{"text": "looking", "by": "alice"})
	require.Equal(t, http.StatusOK, code, "%s", out)
	code, out = h.Do(http.MethodPost, "/v1/incidents/"+inc.ID+"/ack", map[string]any{"by": "alice"})
	require.Equal(t, http.StatusOK, code, "%s", out)
	expect("acknowledged", "acknowledged by alice")
	code, out = h.Do(http.MethodPost, "/v1/incidents/"+inc.ID+"/notes", map[string]any{"text": "payments restored", "update": true, "by": "alice"})
	require.Equal(t, http.StatusOK, code, "%s", out)
	expect("update", "payments restored")
	code, out = h.Do(http.MethodPost, "/v1/incidents/"+inc.ID+"/resolve", nil)
	require.Equal(t, http.StatusOK, code, "%s", out)
	expect("resolved", "resolved by test")
}

// TestSnoozeToldAsAcknowledged: a snooze acknowledges the incident for
// its while (klaxon snooze: "acknowledge for that long"): the incident
// is acknowledged, the acknowledgement counts in the metrics and the
// review. Its subscribers, who hear that an incident was acknowledged,
// hear it of a snooze too, before they hear that it resolved.
func TestSnoozeToldAsAcknowledged(t *testing.T) {
	hook, posts := statusPage(t)
	h := Start(t, Config{
		Policies: []Policy{{Name: "default", Steps: []Step{{Targets: []string{"user:alice"}}}, Subscribers: []string{hook + "/status"}}},
		Users:    []User{{ID: "alice", Phone: "+15550100001", Notify: []Rule{SMS(0)}}},
	})
	body, err := os.ReadFile("testdata/firing-two-alerts.json")
	require.NoError(t, err)
	h.Alertmanager(body)
	h.Phone("+15550100001").ExpectSMS()
	inc := h.OpenIncident("HighErrorRate")

	next := func() string {
		t.Helper()
		select {
		case p := <-posts:
			return p["update"].(string) + ": " + p["text"].(string)
		case <-time.After(10 * time.Second):
			t.Fatal("no webhook update")
			return ""
		}
	}
	require.Equal(t, "opened: Incident #"+inc.ID+" opened: 5xx ratio above 5% on payments", next())
	code, out := h.Do(http.MethodPost, "/v1/incidents/"+inc.ID+"/snooze", map[string]any{"duration": "2h", "by": "alice"})
	require.Equal(t, http.StatusOK, code, "%s", out)
	require.Equal(t, "acknowledged", string(h.Incident(inc.ID).State))
	code, out = h.Do(http.MethodPost, "/v1/incidents/"+inc.ID+"/resolve", map[string]any{"by": "alice"})
	require.Equal(t, http.StatusOK, code, "%s", out)
	require.Equal(t, "acknowledged: Incident #"+inc.ID+" acknowledged by alice, snoozed until "+
		h.Incident(inc.ID).SnoozedUntil.UTC().Format(time.RFC3339)+": 5xx ratio above 5% on payments", next(),
		"the snooze acknowledged the incident")
	require.Equal(t, "resolved: Incident #"+inc.ID+" resolved by alice: 5xx ratio above 5% on payments", next())
}

// statusPage is a subscriber's webhook that takes updates, until t
// ends: its URL, and the updates it took, decoded.
func statusPage(t *testing.T) (string, <-chan map[string]any) {
	t.Helper()
	posts := make(chan map[string]any, 16)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var v map[string]any
		if json.Unmarshal(b, &v) == nil {
			posts <- v
		}
	}))
	t.Cleanup(hook.Close)
	return hook.URL, posts
}
