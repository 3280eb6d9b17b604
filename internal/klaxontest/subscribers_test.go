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
	posts := make(chan map[string]any, 16)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var v map[string]any
		if json.Unmarshal(b, &v) == nil {
			posts <- v
		}
	}))
	t.Cleanup(hook.Close)
	h := Start(t, Config{
		Policies: []Policy{{Name: "default", Steps: []Step{{Targets: []string{"user:alice"}}}, Subscribers: []string{"user:carol", hook.URL + "/status"}}},
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
		require.Contains(t, string(m.Data), "Klaxon update: #"+inc.ID+" "+update)
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
