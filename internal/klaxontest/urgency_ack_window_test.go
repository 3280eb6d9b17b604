package klaxontest

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
)

// TestUrgencyRaisedSeenAgainWhileAcknowledged: a warning of db texted
// alice, who acknowledged it. A critical alert of db-2 joins while a
// window holds it, and raises nothing. The window ends early and db-2
// is reported again, the same occurrence: the incident becomes high,
// and when the ack times out and it triggers again alice is called.
func TestUrgencyRaisedSeenAgainWhileAcknowledged(t *testing.T) {
	h := Start(t, Config{
		Policies: []Policy{{Name: "default", AckTimeout: 30 * time.Minute, Steps: []Step{{Targets: []string{"user:alice"}}}}},
		Users: []User{{ID: "alice", Phone: "+15550100001",
			Notify: []Rule{SMS(0), {Via: "voice", Urgency: "high"}}}},
	})
	h.Alertmanager(dbAlert("db-1", "warning"))
	h.FastForward(0)
	h.Phone("+15550100001").ExpectSMS("disk full on db-1")
	id := h.OpenIncident("DiskFull").ID
	code, out := h.Do(http.MethodPost, "/v1/incidents/"+id+"/ack", map[string]string{"by": "alice"})
	require.Equal(t, http.StatusOK, code, "%s", out)

	code, out = h.Do(http.MethodPost, "/v1/maintenance", map[string]any{"matchers": []string{`instance="db-2"`}, "duration": "2h", "comment": "db-2 upgrade"})
	require.Equal(t, http.StatusCreated, code, "%s", out)
	var w struct{ ID string }
	require.NoError(t, json.Unmarshal(out, &w))
	h.Alertmanager(dbAlert("db-2", "critical")) // the window holds it
	h.FastForward(10 * time.Second)
	require.Equal(t, klaxon.UrgencyLow, h.OpenIncident("DiskFull").Urgency, "a held alert raises nothing")

	code, out = h.Do(http.MethodDelete, "/v1/maintenance/"+w.ID, nil)
	require.Less(t, code, 300, "%s", out)
	h.FastForward(10 * time.Second)
	h.Alertmanager(dbAlert("db-2", "critical")) // seen again, no window holds it
	h.FastForward(0)
	require.Equal(t, klaxon.UrgencyHigh, h.OpenIncident("DiskFull").Urgency, "its report after the window raises the urgency")

	h.FastForward(30 * time.Minute) // the ack times out: a text and, at high urgency, a call
	h.Phone("+15550100001").ExpectSMS("disk full")
	h.Phone("+15550100001").ExpectCall()
}
