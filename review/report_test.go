package review_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/review"
)

// A scripted week, Monday 2026-11-02 to Monday 2026-11-09 (UTC). New
// York is on EST (UTC-5) since November 1st, Berlin on CET (UTC+1).
// anna works in Berlin, nate in New York, uma has no time zone (UTC).
//
//	#  opened (UTC)     policy    service   alertname        integration
//	1  Mon 02:00        payments  checkout  CheckoutLatency  prometheus (from the alert's key)
//	2  Tue 15:00        payments  checkout  CheckoutLatency  prometheus
//	3  Sat 14:00        payments  db        DiskFull         datadog (its label; the key says am)
//	4  Wed 12:00        platform  db        DiskFull         datadog; never acknowledged; 56 merged in
//	5  Thu 23:00        platform  checkout  (none)           generic; acknowledged by a snooze
//
// and two outside the window: 0 opened a second before it, 6 as it ends.
//
// Acknowledged after 4m, 2m, 12m, -, 6m; resolved after 30m, 1h, 1h40m,
// 1h, -. Pages, with the wall clock of the person paged:
//
//	1  anna 03:00 Mon, anna 03:01 Mon              both after hours
//	2  nate 10:00 Tue, anna 09:00 Tue              both in work hours (09:00 is in)
//	3  nate 09:00 Sat, nate 09:01 Sat, anna 15:05 Sat  Saturday: all after hours
//	4  uma 12:00 Wed, nate 07:10 Wed               uma in (UTC); nate after (12:10 UTC would be in)
//	5  nate 18:00 Thu, nate 19:06 Thu              after hours (18:00 is out)
//
// Escalated to a step after the first before anyone acknowledged: 3 (at
// 14:05, acknowledged at 14:12) and 4 (never acknowledged); 5 escalated
// after its snooze, which acknowledged it.
func week() []review.Incident {
	return []review.Incident{
		script("0", "2026-11-01T23:59:59Z", "payments", map[string]string{"alertname": "CheckoutLatency", "service": "checkout"}, "p99 high").
			alert("triggered", "2026-11-01T23:59:59Z", "prometheus/a0").
			page("2026-11-01T23:59:59Z", "anna", "sms").
			ack("2026-11-02T00:00:59Z", "anna", "sms").incident(),

		script("1", "2026-11-02T02:00:00Z", "payments", map[string]string{"alertname": "CheckoutLatency", "service": "checkout"}, "p99 high").
			alert("triggered", "2026-11-02T02:00:00Z", "prometheus/a1").
			escalate("2026-11-02T02:00:00Z", 0).
			page("2026-11-02T02:00:00Z", "anna", "sms").
			page("2026-11-02T02:01:00Z", "anna", "voice").
			ack("2026-11-02T02:04:00Z", "anna", "sms").
			alert("alert_joined", "2026-11-02T02:10:00Z", "prometheus/b1").
			resolve("2026-11-02T02:30:00Z", "anna").incident(),

		script("2", "2026-11-03T15:00:00Z", "payments", map[string]string{"alertname": "CheckoutLatency", "service": "checkout"}, "p99 high").
			alert("triggered", "2026-11-03T15:00:00Z", "prometheus/a2").
			escalate("2026-11-03T15:00:00Z", 0).
			page("2026-11-03T15:00:00Z", "nate", "sms").
			page("2026-11-03T08:00:00Z", "anna", "email"). // out of order: a page's time is its own
			ack("2026-11-03T15:02:00Z", "nate", "voice").
			alert("alert_joined", "2026-11-03T15:20:00Z", "prometheus/b2").
			alert("alert_refired", "2026-11-03T15:30:00Z", "prometheus/a2").
			resolve("2026-11-03T16:00:00Z", "nate").incident(),

		script("3", "2026-11-07T14:00:00Z", "payments", map[string]string{"alertname": "DiskFull", "service": "db", "integration": "datadog"}, "disk full").
			alert("triggered", "2026-11-07T14:00:00Z", "am/x3").
			escalate("2026-11-07T14:00:00Z", 0).
			page("2026-11-07T14:00:00Z", "nate", "sms").
			page("2026-11-07T14:01:00Z", "nate", "voice").
			alert("alert_joined", "2026-11-07T14:03:00Z", "am/y3").
			escalate("2026-11-07T14:05:00Z", 1).
			page("2026-11-07T14:05:00Z", "anna", "sms").
			ack("2026-11-07T14:12:00Z", "anna", "web").
			resolve("2026-11-07T15:40:00Z", "anna").incident(),

		script("4", "2026-11-04T12:00:00Z", "platform", map[string]string{"alertname": "DiskFull", "service": "db"}, "disk full").
			alert("triggered", "2026-11-04T12:00:00Z", "datadog/d4").
			escalate("2026-11-04T12:00:00Z", 0).
			page("2026-11-04T12:00:00Z", "uma", "email").
			alert("alert_joined", "2026-11-04T12:05:00Z", "datadog/e4").
			alert("alert_joined", "2026-11-04T12:06:00Z", "datadog/f4").
			alert("alert_joined", "2026-11-04T12:07:00Z", "datadog/g4").
			escalate("2026-11-04T12:10:00Z", 1).
			page("2026-11-04T12:10:00Z", "nate", "voice").
			// Incident 56 merged in: its timeline copied here is its
			// own, not 4's. Counted, 4 would be acknowledged after 20m,
			// uma paged twice, DiskFull with 7 alert events.
			event(klaxon.Event{At: at("2026-11-04T12:30:00Z"), Kind: klaxon.EventMerged, By: "nate", How: "web", Text: "#56 disk full (1 alert)"}).
			event(klaxon.Event{At: at("2026-11-04T12:15:00Z"), Kind: klaxon.EventTriggered, Alert: "datadog/h56", Text: "#56: disk full"}).
			event(klaxon.Event{At: at("2026-11-04T12:15:00Z"), Kind: klaxon.EventPageSent, User: "uma", Via: "sms", Step: new(0), Text: "#56: "}).
			event(klaxon.Event{At: at("2026-11-04T12:20:00Z"), Kind: klaxon.EventAcknowledged, By: "uma", How: "sms", Text: "#56: "}).
			resolve("2026-11-04T13:00:00Z", "").incident(),

		script("5", "2026-11-05T23:00:00Z", "platform", map[string]string{"service": "checkout"}, "Queue backlog").
			alert("triggered", "2026-11-05T23:00:00Z", "generic/q5").
			escalate("2026-11-05T23:00:00Z", 0).
			page("2026-11-05T23:00:00Z", "nate", "sms").
			event(klaxon.Event{At: at("2026-11-05T23:06:00Z"), Kind: klaxon.EventSnoozed, By: "nate", How: "sms", Text: "until 2026-11-06T00:06:00Z"}).
			event(klaxon.Event{At: at("2026-11-06T00:06:00Z"), Kind: klaxon.EventTriggered, Text: "snooze ended"}).
			escalate("2026-11-06T00:06:00Z", 0).
			page("2026-11-06T00:06:00Z", "nate", "sms").
			escalate("2026-11-06T00:16:00Z", 1).
			ack("2026-11-06T00:20:00Z", "nate", "api").incident(),

		script("6", "2026-11-09T00:00:00Z", "platform", map[string]string{"alertname": "DiskFull", "service": "db"}, "disk full").
			alert("triggered", "2026-11-09T00:00:00Z", "datadog/d6").
			page("2026-11-09T00:00:00Z", "uma", "sms").
			ack("2026-11-09T00:01:00Z", "uma", "sms").incident(),
	}
}

var people = map[string]klaxon.User{
	"anna": {ID: "anna", Name: "Anna Berg", TimeZone: "Europe/Berlin"},
	"nate": {ID: "nate", Name: "Nate York", TimeZone: "America/New_York"},
	"uma":  {ID: "uma", Name: "Uma Rao"},
}

func lookup(id string) (klaxon.User, bool) { u, ok := people[id]; return u, ok }

func options(by string) review.Options {
	return review.Options{Since: at("2026-11-02T00:00:00Z"), Until: at("2026-11-09T00:00:00Z"), By: by, Users: lookup}
}

func TestReportOverall(t *testing.T) {
	r := review.NewReport(week(), options(""))
	f := r.Overall
	require.Equal(t, 5, f.Incidents)
	// Acknowledged after 2m, 4m, 6m, 12m: the median is the 2nd of 4
	// (nearest rank), the 90th percentile the 4th.
	require.Equal(t, review.Stat{Count: 4, Mean: dur("6m"), Median: dur("4m"), P90: dur("12m")}, f.MTTA)
	// Resolved after 30m, 1h, 1h, 1h40m: 250m / 4 = 1h2m30s.
	require.Equal(t, review.Stat{Count: 4, Mean: dur("1h2m30s"), Median: dur("1h"), P90: dur("1h40m")}, f.MTTR)
	require.Equal(t, 11, f.Pages)
	require.InDelta(t, 2.2, f.PagesPerIncident, 1e-9)
	require.Equal(t, 2, f.EscalatedBeforeAck)
	require.Equal(t, []review.PersonPages{
		{User: "nate", Name: "Nate York", TimeZone: "America/New_York", Pages: 6, AfterHours: 5},
		{User: "anna", Name: "Anna Berg", TimeZone: "Europe/Berlin", Pages: 4, AfterHours: 3},
		{User: "uma", Name: "Uma Rao", TimeZone: "UTC", Pages: 1, AfterHours: 0},
	}, f.People)
	require.Equal(t, []review.Noise{
		{Alert: "DiskFull", AlertEvents: 6, Incidents: 2},
		{Alert: "CheckoutLatency", AlertEvents: 5, Incidents: 2},
		{Alert: "Queue backlog", AlertEvents: 1, Incidents: 1},
	}, f.NoisiestByAlerts)
	// Tied at 2 incidents, DiskFull's 6 alert events put it first.
	require.Equal(t, f.NoisiestByAlerts, f.NoisiestByIncidents)
	require.Nil(t, r.Groups)
	require.Equal(t, "09:00–18:00 Mon–Fri", r.WorkHours)
}

func TestReportGroups(t *testing.T) {
	type row struct {
		key                string
		incidents, pages   int
		mtta, mttr         review.Stat
		escalatedBeforeAck int
	}
	stat := func(n int, mean, median, p90 string) review.Stat {
		return review.Stat{Count: n, Mean: dur(mean), Median: dur(median), P90: dur(p90)}
	}
	for _, tc := range []struct {
		by   string
		want []row
	}{
		{review.ByPolicy, []row{
			// 2m, 4m, 12m; 30m, 1h, 1h40m (190m / 3 = 1h3m20s).
			{"payments", 3, 7, stat(3, "6m", "4m", "12m"), stat(3, "1h3m20s", "1h", "1h40m"), 1},
			{"platform", 2, 4, stat(1, "6m", "6m", "6m"), stat(1, "1h", "1h", "1h"), 1},
		}},
		{review.ByService, []row{
			// 2m, 4m, 6m; 30m, 1h: the median of two is the first.
			{"checkout", 3, 6, stat(3, "4m", "4m", "6m"), stat(2, "45m", "30m", "1h"), 0},
			{"db", 2, 5, stat(1, "12m", "12m", "12m"), stat(2, "1h20m", "1h", "1h40m"), 2},
		}},
		{review.ByIntegration, []row{
			{"datadog", 2, 5, stat(1, "12m", "12m", "12m"), stat(2, "1h20m", "1h", "1h40m"), 2},
			{"prometheus", 2, 4, stat(2, "3m", "2m", "4m"), stat(2, "45m", "30m", "1h"), 0},
			{"generic", 1, 2, stat(1, "6m", "6m", "6m"), review.Stat{}, 0},
		}},
		{review.ByUser, []row{
			// nate: 2, 3, 4, 5; his pages only.
			{"nate", 4, 6, stat(3, "6m40s", "6m", "12m"), stat(3, "1h13m20s", "1h", "1h40m"), 2},
			{"anna", 3, 4, stat(3, "6m", "4m", "12m"), stat(3, "1h3m20s", "1h", "1h40m"), 1},
			{"uma", 1, 1, review.Stat{}, stat(1, "1h", "1h", "1h"), 1},
		}},
	} {
		t.Run(tc.by, func(t *testing.T) {
			r := review.NewReport(week(), options(tc.by))
			require.Equal(t, tc.by, r.By)
			require.Equal(t, 5, r.Overall.Incidents, "grouping leaves the overall figures be")
			var got []row
			for _, g := range r.Groups {
				got = append(got, row{g.Key, g.Incidents, g.Pages, g.MTTA, g.MTTR, g.EscalatedBeforeAck})
			}
			require.Equal(t, tc.want, got)
		})
	}
	t.Run("a person's group has their pages alone", func(t *testing.T) {
		r := review.NewReport(week(), options(review.ByUser))
		require.Equal(t, "anna", r.Groups[1].Key)
		require.Equal(t, []review.PersonPages{{User: "anna", Name: "Anna Berg", TimeZone: "Europe/Berlin", Pages: 4, AfterHours: 3}}, r.Groups[1].People)
		require.InDelta(t, 4.0/3, r.Groups[1].PagesPerIncident, 1e-9)
	})
	t.Run("incidents without a key", func(t *testing.T) {
		quiet := script("7", "2026-11-03T00:00:00Z", "payments", nil, "heartbeat missed").incident()
		r := review.NewReport(append(week(), quiet), options(review.ByService))
		require.Equal(t, []string{"checkout", "db", ""}, keys(r.Groups), "no service label")
		require.Equal(t, 1, r.Groups[2].Incidents)
		r = review.NewReport(append(week(), quiet), options(review.ByUser))
		// Of the groups of one incident, "" (nobody paged) sorts before uma.
		require.Equal(t, []string{"nate", "anna", "", "uma"}, keys(r.Groups))
	})
}

func TestReportWindow(t *testing.T) {
	for _, tc := range []struct {
		name         string
		since, until string
		want         int
	}{
		{"the week: 0 a second early, 6 at its end", "2026-11-02T00:00:00Z", "2026-11-09T00:00:00Z", 5},
		{"Since is in, Until is out", "2026-11-02T02:00:00Z", "2026-11-03T15:00:00Z", 1},
		{"Wednesday and Thursday", "2026-11-04T00:00:00Z", "2026-11-06T00:00:00Z", 2},
		{"no bounds", "", "", 7},
		{"from Monday on", "2026-11-02T00:00:00Z", "", 6},
		{"before Monday", "", "2026-11-02T00:00:00Z", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := review.Options{Users: lookup}
			if tc.since != "" {
				o.Since = at(tc.since)
			}
			if tc.until != "" {
				o.Until = at(tc.until)
			}
			require.Equal(t, tc.want, review.NewReport(week(), o).Overall.Incidents)
		})
	}
	t.Run("Wednesday and Thursday's figures", func(t *testing.T) {
		o := options("")
		o.Since, o.Until = at("2026-11-04T00:00:00Z"), at("2026-11-06T00:00:00Z")
		f := review.NewReport(week(), o).Overall
		require.Equal(t, review.Stat{Count: 1, Mean: dur("6m"), Median: dur("6m"), P90: dur("6m")}, f.MTTA)
		require.Equal(t, 4, f.Pages)
		require.Equal(t, []review.PersonPages{
			{User: "nate", Name: "Nate York", TimeZone: "America/New_York", Pages: 3, AfterHours: 3},
			{User: "uma", Name: "Uma Rao", TimeZone: "UTC", Pages: 1, AfterHours: 0},
		}, f.People)
	})
}

func TestReportOptions(t *testing.T) {
	t.Run("Top", func(t *testing.T) {
		o := options("")
		o.Top = 1
		f := review.NewReport(week(), o).Overall
		require.Equal(t, []review.Noise{{Alert: "DiskFull", AlertEvents: 6, Incidents: 2}}, f.NoisiestByAlerts)
		require.Len(t, f.NoisiestByIncidents, 1)
	})
	t.Run("without users, every zone is UTC", func(t *testing.T) {
		o := options("")
		o.Users = nil
		// In UTC, anna's 08:00 page on Tuesday is before work, nate's
		// 12:10 on Wednesday during it.
		require.Equal(t, []review.PersonPages{
			{User: "nate", TimeZone: "UTC", Pages: 6, AfterHours: 4},
			{User: "anna", TimeZone: "UTC", Pages: 4, AfterHours: 4},
			{User: "uma", TimeZone: "UTC", Pages: 1},
		}, review.NewReport(week(), o).Overall.People)
	})
	t.Run("work hours of our own", func(t *testing.T) {
		o := options("")
		o.WorkHours = review.WorkHours{From: 7 * time.Hour, To: 19*time.Hour + 30*time.Minute,
			Days: []time.Weekday{time.Saturday, time.Wednesday, time.Thursday, time.Tuesday}}
		r := review.NewReport(week(), o)
		require.Equal(t, "07:00–19:30 Tue, Wed, Thu, Sat", r.WorkHours)
		// anna: Mon 03:00, 03:01 out; Tue 09:00, Sat 15:05 in. nate: Tue
		// 10:00, Sat 09:00, 09:01, Wed 07:10, Thu 18:00, 19:06 all in.
		require.Equal(t, []review.PersonPages{
			{User: "anna", Name: "Anna Berg", TimeZone: "Europe/Berlin", Pages: 4, AfterHours: 2},
			{User: "nate", Name: "Nate York", TimeZone: "America/New_York", Pages: 6, AfterHours: 0},
			{User: "uma", Name: "Uma Rao", TimeZone: "UTC", Pages: 1, AfterHours: 0},
		}, r.Overall.People)
	})
	t.Run("an unknown grouping groups nothing", func(t *testing.T) {
		require.ErrorIs(t, review.CheckBy("team"), klaxon.ErrInvalid)
		require.NoError(t, review.CheckBy(review.ByIntegration))
		require.Nil(t, review.NewReport(week(), options("team")).Groups)
	})
	t.Run("no incidents", func(t *testing.T) {
		r := review.NewReport(nil, options(review.ByPolicy))
		require.Equal(t, review.Figures{People: []review.PersonPages{}, NoisiestByAlerts: []review.Noise{},
			NoisiestByIncidents: []review.Noise{}}, r.Overall)
		require.Empty(t, r.Groups)
	})
}

func TestReportJSON(t *testing.T) {
	r := review.NewReport(week(), options(review.ByUser))
	b, err := json.Marshal(r)
	require.NoError(t, err)
	var doc struct {
		Since   time.Time `json:"since"`
		By      string    `json:"by"`
		Overall struct {
			MTTA map[string]any `json:"mtta"`
			MTTR map[string]any `json:"mttr"`
		} `json:"overall"`
		Groups []map[string]any `json:"groups"`
	}
	require.NoError(t, json.Unmarshal(b, &doc))
	require.True(t, doc.Since.Equal(at("2026-11-02T00:00:00Z")))
	require.Equal(t, "user", doc.By)
	require.Equal(t, map[string]any{"count": 4.0, "mean_seconds": 360.0, "median_seconds": 240.0, "p90_seconds": 720.0}, doc.Overall.MTTA)
	require.Equal(t, map[string]any{"count": 4.0, "mean_seconds": 3750.0, "median_seconds": 3600.0, "p90_seconds": 6000.0}, doc.Overall.MTTR)
	uma := doc.Groups[2]
	require.Equal(t, "uma", uma["key"])
	require.Equal(t, map[string]any{"count": 0.0, "mean_seconds": nil, "median_seconds": nil, "p90_seconds": nil}, uma["mtta"],
		"no acknowledgement: no figure, not zero")
	require.Equal(t, 1.0, uma["pages_per_incident"])

	var back review.Report
	require.NoError(t, json.Unmarshal(b, &back))
	require.Equal(t, r.Overall.MTTA, back.Overall.MTTA)
	require.Equal(t, r.Groups[2].MTTA, back.Groups[2].MTTA)
}

// TestReportText compares Report.Text with testdata/report.txt (rewritten
// under -update): the week, by policy.
func TestReportText(t *testing.T) {
	got := review.NewReport(week(), options(review.ByPolicy)).Text()
	path := filepath.Join("testdata", "report.txt")
	if *update {
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, string(want), got)
}
