package klaxontest

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
)

// dbAlert is an Alertmanager body of one firing DiskFull alert of
// service db on instance, of severity.
func dbAlert(instance, severity string) []byte {
	return []byte(`{"receiver":"klaxon","status":"firing","alerts":[{"status":"firing","labels":{"alertname":"DiskFull","service":"db","instance":"` +
		instance + `","severity":"` + severity + `"},"annotations":{"summary":"disk full on ` + instance + `"},"startsAt":"2026-11-27T00:00:00Z","fingerprint":"` + instance + `"}]}`)
}

// TestUrgencyRaisedInMaintenance: a maintenance window silences the
// pages of the alerts it matches. A warning of db texted alice (any
// urgency); then a window starts for service db (a planned upgrade),
// and a critical alert of db, which the window matches, joins the
// incident. Its urgency may rise, but the window holds what the alert
// would page: alice is not called, at night, for an alert of a
// maintenance she was told of.
func TestUrgencyRaisedInMaintenance(t *testing.T) {
	h := Start(t, Config{
		Policies: []Policy{{Name: "default", Steps: []Step{{Targets: []string{"user:alice"}}}}},
		Users: []User{{ID: "alice", Phone: "+15550100001",
			Notify: []Rule{SMS(0), {Via: "voice", Urgency: "high"}}}},
	})
	h.Alertmanager(dbAlert("db-1", "warning"))
	h.FastForward(0)
	h.Phone("+15550100001").ExpectSMS("disk full on db-1")

	code, out := h.Do(http.MethodPost, "/v1/maintenance", map[string]any{"matchers": []string{`service="db"`}, "duration": "2h", "comment": "db upgrade"})
	require.Equal(t, http.StatusCreated, code, "%s", out)
	h.Alertmanager(dbAlert("db-2", "critical")) // the window matches it
	h.FastForward(time.Minute)
	require.Empty(t, h.Twilio.Untaken(), "the window holds the pages of the alert it matches")
	require.Equal(t, klaxon.StateTriggered, h.OpenIncident("DiskFull").State)
}

// TestUrgencyRaisedCallsOnce: a warning of db texted alice, whose call
// is for high urgency only; a critical alert of db joins, and alice is
// called at once, once, and not texted again, however long it fires.
func TestUrgencyRaisedCallsOnce(t *testing.T) {
	h := Start(t, Config{
		Policies: []Policy{{Name: "default", Steps: []Step{{Targets: []string{"user:alice"}}}}},
		Users: []User{{ID: "alice", Phone: "+15550100001",
			Notify: []Rule{SMS(0), {Via: "voice", Urgency: "high"}}}},
	})
	h.Alertmanager(dbAlert("db-1", "warning"))
	h.FastForward(0)
	h.Phone("+15550100001").ExpectSMS("disk full on db-1")
	require.Equal(t, klaxon.UrgencyLow, h.OpenIncident("DiskFull").Urgency)

	h.Alertmanager(dbAlert("db-2", "critical"))
	h.FastForward(0)
	h.Phone("+15550100001").ExpectCall()
	h.FastForward(time.Hour)
	require.Empty(t, h.Twilio.Untaken(), "one call, and no SMS again")
	inc := h.OpenIncident("DiskFull")
	require.Equal(t, klaxon.UrgencyHigh, inc.Urgency)
	require.Equal(t, "critical", inc.Severity)
}

// TestUrgencyNotRaisedByHeldAlertOnOpening: one delivery opens the
// incident with a warning of db-1, which no window holds, and a critical
// alert of db-2, which a maintenance window holds. The held alert raises
// nothing, as when the two are sent one after the other: alice is
// texted, and not called.
func TestUrgencyNotRaisedByHeldAlertOnOpening(t *testing.T) {
	h := Start(t, Config{
		Policies: []Policy{{Name: "default", Steps: []Step{{Targets: []string{"user:alice"}}}}},
		Users: []User{{ID: "alice", Phone: "+15550100001",
			Notify: []Rule{SMS(0), {Via: "voice", Urgency: "high"}}}},
	})
	code, out := h.Do(http.MethodPost, "/v1/maintenance", map[string]any{"matchers": []string{`instance="db-2"`}, "duration": "2h", "comment": "db-2 upgrade"})
	require.Equal(t, http.StatusCreated, code, "%s", out)

	alert := func(instance, severity string) string {
		return `{"status":"firing","labels":{"alertname":"DiskFull","service":"db","instance":"` + instance + `","severity":"` + severity +
			`"},"annotations":{"summary":"disk full on ` + instance + `"},"startsAt":"2026-11-27T00:00:00Z","fingerprint":"` + instance + `"}`
	}
	h.Alertmanager([]byte(`{"receiver":"klaxon","status":"firing","alerts":[` + alert("db-1", "warning") + `,` + alert("db-2", "critical") + `]}`))
	h.FastForward(0)
	h.Phone("+15550100001").ExpectSMS("disk full on db-1")
	h.FastForward(time.Minute)
	require.Empty(t, h.Twilio.Untaken(), "the window holds what db-2's alert would page: no call")
	require.Equal(t, klaxon.UrgencyLow, h.OpenIncident("DiskFull").Urgency, "a held alert raises nothing")
}
