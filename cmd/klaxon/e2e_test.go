package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/api"
)

// TestEndToEnd walks one incident through its life with the real wiring:
// the three Alertmanager fixtures open two incidents, pages escalate, an
// acknowledgement stops them, and the incident resolves by itself when
// Alertmanager resolves its alerts.
func TestEndToEnd(t *testing.T) {
	const after = 300 * time.Millisecond
	base, logs, _ := startServe(t, writeConfig(t, after))

	postFixture(t, base, "firing-two-alerts.json")
	postFixture(t, base, "firing-one-alert.json")
	payments := findIncident(t, base, "HighErrorRate")
	// Step one pages alice by SMS (console) at once.
	waitFor(t, "step one pages alice", func() bool { return len(logs.pagesFor(payments.ID)) >= 1 })
	require.Equal(t, page{payments.ID, "alice", "sms", "#" + payments.ID + " [critical] 5xx ratio above 5% on payments (2 firing)"}, logs.pagesFor(payments.ID)[0])

	postFixture(t, base, "one-resolved-one-firing.json")
	postFixture(t, base, "one-resolved-one-firing.json") // a retry changes nothing

	open := listIncidents(t, base, "open")
	require.Len(t, open, 2, "HighErrorRate/payments and DiskFull/db are two groups")
	payments = findIncident(t, base, "HighErrorRate")
	disk := findIncident(t, base, "DiskFull")
	require.Equal(t, map[string]string{"alertname": "HighErrorRate", "service": "payments"}, payments.Labels)
	require.Len(t, payments.Alerts, 2, "the two alerts of one group are one incident")
	require.Equal(t, 1, payments.FiringCount)
	for _, a := range payments.Alerts {
		require.Equal(t, 1, a.Count, "%s: a retry is not a new occurrence", a.Key)
		require.False(t, a.FirstSeen.IsZero())
		require.False(t, a.LastSeen.Before(a.FirstSeen))
	}
	require.Len(t, disk.Alerts, 1)

	// After escalate_after, step two pages bob by email.
	waitFor(t, "step two pages bob", func() bool { return len(logs.pagesFor(payments.ID)) >= 2 })
	pages := logs.pagesFor(payments.ID)
	require.Equal(t, "bob", pages[1].user)
	require.Equal(t, "email", pages[1].via)

	// The page is logged as it goes out and recorded right after.
	var sent, steps []klaxon.Event
	waitFor(t, "both pages on the timeline", func() bool {
		sent, steps = sent[:0], steps[:0]
		for _, e := range getIncident(t, base, payments.ID).Timeline {
			switch e.Kind {
			case klaxon.EventPageSent:
				sent = append(sent, e)
			case klaxon.EventEscalated:
				steps = append(steps, e)
			}
		}
		return len(sent) == 2
	})
	require.Len(t, steps, 2)
	require.GreaterOrEqual(t, steps[1].At.Sub(steps[0].At), after, "step two waits escalate_after")
	require.Equal(t, []string{"alice", "bob"}, []string{sent[0].User, sent[1].User})

	// Acknowledge. (That no page follows an acknowledgement, however
	// long the clock runs, is TestEscalationStopsAtTheAck's, with a clock
	// the test moves: internal/klaxontest.)
	code, out := post(t, base+"/v1/incidents/"+payments.ID+"/ack", apiToken, "application/json", []byte(`{"by":"alice"}`))
	require.Equal(t, http.StatusOK, code, out)
	require.Equal(t, "acknowledged", out["state"])

	// Alertmanager resolves the last firing alert: the incident resolves.
	resolveAll := strings.ReplaceAll(string(mustRead(t, "one-resolved-one-firing.json")), `"status":"firing","labels"`, `"status":"resolved","labels"`)
	code, out = post(t, base+"/v1/ingest/alertmanager", amToken, "application/json", []byte(resolveAll))
	require.Equal(t, http.StatusOK, code, out)
	inc := getIncident(t, base, payments.ID)
	require.Equal(t, klaxon.StateResolved, inc.State)
	require.Equal(t, 0, inc.FiringCount)
	// The engine's events and the alerts' events interleave as they
	// happened; each sequence on its own is fixed.
	var escalation, alerts []klaxon.EventKind
	for _, k := range eventKinds(inc) {
		if k == klaxon.EventAlertResolved {
			alerts = append(alerts, k)
			continue
		}
		escalation = append(escalation, k)
	}
	require.Equal(t, []klaxon.EventKind{
		klaxon.EventTriggered, klaxon.EventAlertJoined,
		klaxon.EventEscalated, klaxon.EventPageSent,
		klaxon.EventEscalated, klaxon.EventPageSent,
		klaxon.EventAcknowledged, klaxon.EventResolved,
	}, escalation)
	require.Len(t, alerts, 2)
	require.Equal(t, []klaxon.EventKind{klaxon.EventAlertResolved, klaxon.EventResolved}, eventKinds(inc)[len(inc.Timeline)-2:])
	ack := inc.Timeline[slices.Index(eventKinds(inc), klaxon.EventAcknowledged)]
	require.Equal(t, "alice", ack.By)
	require.Equal(t, "api", ack.How)
	require.Equal(t, "auto", inc.Timeline[len(inc.Timeline)-1].How)

	open = listIncidents(t, base, "open")
	require.Len(t, open, 1)
	require.Equal(t, disk.ID, open[0].ID)

	// The same group firing again opens a new incident.
	postFixture(t, base, "firing-two-alerts.json")
	again := listIncidents(t, base, "open")
	require.Len(t, again, 2)
	require.NotEqual(t, payments.ID, again[0].ID)
}

func mustRead(t *testing.T, name string) []byte {
	t.Helper()
	b, err := readTestdata(name)
	require.NoError(t, err)
	return b
}

// TestCLI drives the server with the command line: incidents, ack, resolve.
func TestCLI(t *testing.T) {
	base, logs, _ := startServe(t, writeConfig(t, time.Hour))
	postFixture(t, base, "firing-two-alerts.json")
	id := findIncident(t, base, "HighErrorRate").ID
	waitFor(t, "step one pages", func() bool { return len(logs.pagesFor(id)) == 1 })

	cli := func(args ...string) (string, error) {
		var out, errOut bytes.Buffer
		err := run(t.Context(), append(args, "--server", base, "--token", apiToken), &out, &errOut)
		return out.String() + errOut.String(), err
	}
	out, err := cli("incidents")
	require.NoError(t, err)
	require.Contains(t, out, "ID")
	require.Regexp(t, `(?m)^`+id+` +triggered +high +2/2 +`, out, "the incident's row: state, urgency, alerts firing of all")
	require.Contains(t, out, "5xx ratio above 5% on payments")
	require.NotContains(t, out, "more:", "every open incident is listed")

	// One alert a page: the pages chain, each with the command for the next.
	out, err = cli("incident", "show", id, "--limit", "1")
	require.NoError(t, err)
	require.Contains(t, out, "incident "+id+": 5xx ratio above 5% on payments")
	require.Contains(t, out, "state triggered, urgency high, 2 of 2 alerts firing")
	require.Contains(t, out, "more alerts: klaxon incident alerts "+id+" --cursor ")
	require.Contains(t, out, "more: klaxon incident timeline "+id+" --offset 1")
	cursor := out[strings.Index(out, "--cursor ")+len("--cursor "):]
	cursor = cursor[:strings.IndexByte(cursor, '\n')]
	out, err = cli("incident", "alerts", id, "--limit", "1", "--cursor", cursor)
	require.NoError(t, err)
	require.Contains(t, out, "prometheus/")
	require.NotContains(t, out, "more alerts", "two alerts, two pages")
	out, err = cli("incident", "timeline", id, "--offset", "1", "--limit", "1")
	require.NoError(t, err)
	require.Contains(t, out, "alert_joined")
	_, err = cli("incident", "show", "999")
	require.ErrorContains(t, err, "404")

	_, err = cli("ack", id, "--by", "carol")
	require.ErrorContains(t, err, `no user "carol"`, "by names a user")
	out, err = cli("ack", id, "--by", "bob")
	require.NoError(t, err)
	require.Equal(t, "incident "+id+" acknowledged by bob: 5xx ratio above 5% on payments\n", out)
	inc := getIncident(t, base, id)
	require.Equal(t, klaxon.StateAcknowledged, inc.State)
	require.Equal(t, "cli", inc.Timeline[slices.Index(eventKinds(inc), klaxon.EventAcknowledged)].How)

	out, err = cli("escalate", id, "--by", "bob")
	require.NoError(t, err)
	require.Equal(t, "incident "+id+" escalated to step 2: 5xx ratio above 5% on payments\n", out)
	require.Equal(t, klaxon.StateTriggered, getIncident(t, base, id).State)

	out, err = cli("snooze", id, "45m")
	require.NoError(t, err)
	require.Contains(t, out, "incident "+id+" snoozed until ")
	inc = getIncident(t, base, id)
	require.Equal(t, klaxon.StateAcknowledged, inc.State)
	require.WithinDuration(t, time.Now().Add(45*time.Minute), inc.SnoozedUntil, time.Minute)

	_, err = cli("snooze", id, "soon")
	require.ErrorContains(t, err, "must be a positive duration")

	out, err = cli("resolve", id)
	require.NoError(t, err)
	require.Contains(t, out, "incident "+id+" resolved")

	out, err = cli("incidents")
	require.NoError(t, err)
	require.Equal(t, "no incidents\n", out)

	_, err = cli("ack", "999")
	require.ErrorContains(t, err, "404")

	// A wrong token is refused with the server's reason.
	var o, e bytes.Buffer
	err = run(t.Context(), []string{"incidents", "--server", base, "--token", "nope"}, &o, &e)
	require.ErrorContains(t, err, "401")
	require.ErrorContains(t, err, "API token")

	// The environment supplies server and token when flags do not.
	t.Setenv("KLAXON_SERVER", base)
	t.Setenv("KLAXON_API_TOKEN", apiToken)
	o.Reset()
	require.NoError(t, run(t.Context(), []string{"incidents", "--state", "all"}, &o, &e))
	require.Contains(t, o.String(), "resolved")

	// A list cut at --limit says so, and how to see more.
	postFixture(t, base, "firing-two-alerts.json") // the group fires again: a second incident
	out, err = cli("incidents", "--state", "all", "--limit", "1")
	require.NoError(t, err)
	require.Equal(t, 3, strings.Count(out, "\n"), out)
	require.Contains(t, out, "\n2  ", "the newest")
	require.Contains(t, out, "more: klaxon incidents --state all --limit 1 --before 2\n")
	for _, before := range []string{"2", "002"} {
		out, err = cli("incidents", "--state", "all", "--limit", "1", "--before", before)
		require.NoError(t, err)
		require.Contains(t, out, "\n1  ", "the next page")
		require.NotContains(t, out, "more:", "the last page")
	}
	out, err = cli("incidents", "--state", "all", "--limit", "2")
	require.NoError(t, err)
	require.NotContains(t, out, "more:")
	// With --json the list stays JSON on stdout, and the cut is said on stderr.
	var jsonOut, jsonErr bytes.Buffer
	require.NoError(t, run(t.Context(), []string{"incidents", "--state", "all", "--limit", "1", "--json", "--server", base, "--token", apiToken}, &jsonOut, &jsonErr))
	var cut api.IncidentList
	require.NoError(t, json.Unmarshal(jsonOut.Bytes(), &cut), jsonOut.String())
	require.Len(t, cut.Incidents, 1)
	require.Equal(t, "2", cut.Next)
	require.Equal(t, "more: klaxon incidents --state all --limit 1 --before 2 --json\n", jsonErr.String())
	jsonErr.Reset()
	require.NoError(t, run(t.Context(), []string{"incidents", "--state", "all", "--limit", "2", "--json", "--server", base, "--token", apiToken}, &jsonOut, &jsonErr))
	require.Empty(t, jsonErr.String())
	_, err = cli("incidents", "--limit", "0")
	require.ErrorContains(t, err, "--limit")
	_, err = cli("incidents", "--limit", "1001")
	require.ErrorContains(t, err, "limit: must be a number from 1 to 1000")
	_, err = cli("incidents", "--before", "x")
	require.ErrorContains(t, err, "before: want an incident ID")
}

// TestIncidentPages: an incident of 2,500 alerts answers in pages; the
// first is of the default size, the list carries no alerts, and the
// pages together hold every alert once.
func TestIncidentPages(t *testing.T) {
	base, _, _ := startServe(t, writeConfig(t, time.Hour))
	const n = 2500
	for from := 0; from < n; from += 500 {
		var alerts []string
		for i := from; i < from+500; i++ {
			alerts = append(alerts, fmt.Sprintf(`{"status":"firing","labels":{"alertname":"Big","service":"s","i":"%d"},"annotations":{"summary":"big"},"startsAt":"2026-11-26T10:00:00Z","fingerprint":"%016x"}`, i, i))
		}
		body := `{"version":"4","status":"firing","receiver":"k","alerts":[` + strings.Join(alerts, ",") + `]}`
		code, out := post(t, base+"/v1/ingest/alertmanager", amToken, "application/json", []byte(body))
		require.Equal(t, http.StatusOK, code, out)
	}
	list := listIncidents(t, base, "open")
	require.Len(t, list, 1)
	require.Equal(t, n, list[0].AlertCount)
	id := list[0].ID

	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, base+"/v1/incidents/"+id, nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+apiToken)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	raw, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	require.Less(t, len(raw), 100_000, "the first page of an incident of any size is small")
	var first api.IncidentView
	require.NoError(t, json.Unmarshal(raw, &first))
	require.Len(t, first.Alerts, 100)
	require.NotEmpty(t, first.AlertsNext)
	require.GreaterOrEqual(t, first.TimelineTotal, n, "triggered, then an alert_joined per alert, and the pages")
	require.Equal(t, 100, first.TimelineNext)

	seen := map[string]bool{}
	for _, a := range first.Alerts {
		seen[a.Key] = true
	}
	for cursor := first.AlertsNext; cursor != ""; {
		var page api.AlertPage
		getJSON(t, base+"/v1/incidents/"+id+"/alerts?limit=1000&cursor="+cursor, &page)
		for _, a := range page.Alerts {
			require.False(t, seen[a.Key], "alert %s on two pages", a.Key)
			seen[a.Key] = true
		}
		cursor = page.Next
	}
	require.Len(t, seen, n)

	var tl api.TimelinePage
	getJSON(t, fmt.Sprintf("%s/v1/incidents/%s/timeline?offset=%d&limit=1000", base, id, first.TimelineTotal-100), &tl)
	require.Len(t, tl.Timeline, 100)
	require.Zero(t, tl.Next, "the last page")
	require.Equal(t, first.TimelineTotal, tl.Total)

	req, err = http.NewRequestWithContext(t.Context(), http.MethodGet, base+"/v1/incidents/"+id+"?limit=5000", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+apiToken)
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusBadRequest, resp.StatusCode, "a page over 1,000 is refused")
}

// TestIdempotencyKey: a command sent again with its Idempotency-Key, as
// a client retries after an answer it lost, acts once and is answered
// as done; without a key, or with another, it acts again.
func TestIdempotencyKey(t *testing.T) {
	base, _, _ := startServe(t, writeConfig(t, time.Hour))
	postFixture(t, base, "firing-two-alerts.json")
	id := findIncident(t, base, "HighErrorRate").ID
	send := func(command, key, body string) int {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, base+"/v1/incidents/"+id+"/"+command, strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+apiToken)
		req.Header.Set("Content-Type", "application/json")
		if key != "" {
			req.Header.Set("Idempotency-Key", key)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		var inc klaxon.Incident
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&inc))
		require.Equal(t, id, inc.ID, "answered with the incident")
		return resp.StatusCode
	}
	count := func(kind klaxon.EventKind) int {
		n := 0
		for _, e := range getIncident(t, base, id).Timeline {
			if e.Kind == kind && e.How == "api" {
				n++
			}
		}
		return n
	}

	for range 3 {
		require.Equal(t, http.StatusOK, send("escalate", "esc-1", ""))
		require.Equal(t, http.StatusOK, send("notes", "note-1", `{"text": "rolling back"}`))
	}
	require.Equal(t, 1, count(klaxon.EventEscalated), "one escalation for one key")
	require.Equal(t, 1, count(klaxon.EventNote), "one note for one key")

	require.Equal(t, http.StatusOK, send("escalate", "esc-2", ""))
	require.Equal(t, http.StatusOK, send("notes", "", `{"text": "rolling back"}`))
	require.Equal(t, 2, count(klaxon.EventEscalated), "another key acts again")
	require.Equal(t, 2, count(klaxon.EventNote), "no key acts again")
	require.Equal(t, http.StatusOK, send("notes", "esc-1", `{"text": "paged the database team"}`))
	require.Equal(t, 3, count(klaxon.EventNote), "a key used by another command acts")
}
