package review_test

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the readers' zones, wherever the tests run

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/review"
)

var update = flag.Bool("update", false, "rewrite the expected output of testdata/*.review")

// separator divides a golden file's input from its expected output.
const separator = "\n----------\n"

// reviewCase is the input of a golden file: an incident, its timeline,
// the users it names and the reader's zone; and the changes before it,
// when the review lists them (MarkdownChanges).
type reviewCase struct {
	Reader   string           `json:"reader"`
	Users    []klaxon.User    `json:"users"`
	Incident *klaxon.Incident `json:"incident"`
	Timeline []klaxon.Event   `json:"timeline"`
	Changes  *review.Changes  `json:"changes"`
}

// markdown is the review of c.
func (c reviewCase) markdown(reader *time.Location) string {
	if c.Changes != nil {
		return review.MarkdownChanges(c.Incident, c.Timeline, *c.Changes, directory(c.Users), reader)
	}
	return review.Markdown(c.Incident, c.Timeline, directory(c.Users), reader)
}

// TestMarkdownGolden writes the review of each testdata/*.review, as
// Caddy's adapter tests do: the file is the input as JSON (a reviewCase),
// a line of ten dashes, then the Markdown expected. Run with -update to
// rewrite what follows the dashes.
func TestMarkdownGolden(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join("testdata", "*.review"))
	require.NoError(t, err)
	require.NotEmpty(t, paths)
	for _, path := range paths {
		t.Run(strings.TrimSuffix(filepath.Base(path), ".review"), func(t *testing.T) {
			b, err := os.ReadFile(path)
			require.NoError(t, err)
			input, want, ok := strings.Cut(string(b), separator)
			require.True(t, ok, "%s has no line of ten dashes", path)
			var c reviewCase
			dec := json.NewDecoder(strings.NewReader(input))
			dec.DisallowUnknownFields()
			require.NoError(t, dec.Decode(&c))
			reader, err := time.LoadLocation(c.Reader)
			require.NoError(t, err)

			got := c.markdown(reader)
			if *update {
				require.NoError(t, os.WriteFile(path, []byte(input+separator+got), 0o644))
				return
			}
			require.Equal(t, want, got)
			require.Equal(t, got, c.markdown(reader), "the same input writes the same review")
			tablesHold(t, got)
		})
	}
}

// tablesHold checks that every row of every table in md has as many
// cells as its header: no text broke out of its cell.
func tablesHold(t *testing.T, md string) {
	t.Helper()
	cells := func(line string) int {
		n := 0
		for i := 1; i < len(line); i++ {
			if line[i] == '|' && line[i-1] != '\\' {
				n++
			}
		}
		return n
	}
	want := 0
	for _, line := range strings.Split(md, "\n") {
		switch {
		case !strings.HasPrefix(line, "|"):
			want = 0
		case want == 0:
			want = cells(line)
		default:
			require.Equal(t, want, cells(line), "row %q", line)
		}
	}
}

// whoWasPaged is the section "Who was paged" of review md.
func whoWasPaged(md string) string {
	return md[strings.Index(md, "## Who was paged"):strings.Index(md, "## Who acted")]
}

// directory looks users up by ID.
func directory(users []klaxon.User) func(string) (klaxon.User, bool) {
	return func(id string) (klaxon.User, bool) {
		for _, u := range users {
			if u.ID == id {
				return u, true
			}
		}
		return klaxon.User{}, false
	}
}

func TestMarkdownEscapes(t *testing.T) {
	at := time.Date(2026, 11, 23, 22, 0, 0, 0, time.UTC)
	inc := &klaxon.Incident{ID: "7", Summary: "a | b\nc", State: klaxon.StateTriggered, CreatedAt: at}
	for _, tc := range []struct {
		name, text, want string
	}{
		{"a pipe", "p99 | 2s", `p99 \| 2s`},
		{"line breaks", "one\ntwo\r\nthree\rfour", "one<br>two<br>three<br>four"},
		{"emphasis, code and links", "*a* _b_ `c` [d](e) ~f~", `\*a\* \_b\_ \` + "`" + `c\` + "`" + ` \[d\](e) \~f\~`},
		{"HTML and entities", "<br> &amp; <script>", `\<br\> \&amp; \<script\>`},
		{"a backslash before a pipe", `\|`, `\\\|`},
		{"math", "$5 and $6", `\$5 and \$6`},
		{"underscores within words and not", "page_sent __init__ _x_", `page_sent \_\_init\_\_ \_x\_`},
		{"control characters", "a\tb\x1b[31mc", `a b \[31mc`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			md := review.Markdown(inc, []klaxon.Event{{At: at, Kind: klaxon.EventNote, By: "alice", Text: tc.text}}, nil, time.UTC)
			require.Contains(t, md, "| 2026-11-23 22:00 UTC | note | alice | "+tc.want+" |\n")
			tablesHold(t, md)
		})
	}
	t.Run("the title is one line", func(t *testing.T) {
		md := review.Markdown(inc, nil, nil, nil)
		first, _, _ := strings.Cut(md, "\n")
		require.Equal(t, `# Incident 7: a \| b c`, first)
		require.Contains(t, md, "| Summary | a \\| b<br>c |\n")
	})
}

// TestMarkdownResolved checks, line by line, what the golden review of
// testdata/resolved.review must say, so that rewriting it with -update
// cannot quietly make it wrong.
func TestMarkdownResolved(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "resolved.review"))
	require.NoError(t, err)
	_, md, ok := strings.Cut(string(b), separator)
	require.True(t, ok)
	for _, line := range []string{
		`# Incident 42: Checkout p99 \> 2s \| payments-api since deploy 2026.11.23-3`,
		"| Opened | 2026-11-23 22:00 UTC (17:00 EST) |",
		"| Acknowledged | 2026-11-23 22:04 UTC (17:04 EST) by alice (Alice Chen) via sms |",
		"| Resolved | 2026-11-23 22:41 UTC (17:41 EST) by bob (Bob Okafor) via web |",
		"| Time to acknowledge | 4m |",
		"| Time to resolve | 41m |",
		"| Assignee | bob (Bob Okafor) |",
		"| Commander | carol (Carol Diaz) |",
		"| Alerts | 0 firing of 2 |",
		"| 1 | alice (Alice Chen) | sms | 1 | 2026-11-23 22:00 UTC (17:00 EST) | 0s | delivered 2026-11-23 22:01 UTC (17:01 EST) |",
		"| 2 | alice (Alice Chen) | voice | 1 | 2026-11-23 22:01 UTC (17:01 EST) | 1m | failed 2026-11-23 22:02 UTC (17:02 EST): no-answer |",
		"| 2026-11-23 22:04 UTC (17:04 EST) | 4m | acknowledged | alice (Alice Chen) | sms | — |",
		"| 2026-11-23 22:07 UTC (17:07 EST) | 7m | bob (Bob Okafor) made assignee | carol (Carol Diaz) | api | chatops |",
		"| 2026-11-23 22:41 UTC (17:41 EST) | 41m | resolved | bob (Bob Okafor) | web | — |",
		"| 2026-11-23 22:05 UTC (17:05 EST) | note | alice (Alice Chen) | Rolling back deploy 2026.11.23-3.<br>Watching p99. |",
		// 03:00 UTC is the evening before in New York.
		"| 2026-11-24 03:00 UTC (2026-11-23 22:00 EST) | note | carol (Carol Diaz) | Review on Thursday; owner: bob |",
		`| 2026-11-23 22:03 UTC (17:03 EST) | 3m | alert_joined | alert prometheus/9a07 · Checkout errors \| 5xx \> 1% |`,
	} {
		require.Contains(t, md, line+"\n")
	}
	require.Equal(t, 16, strings.Count(md[strings.Index(md, "## Timeline"):], "\n| 2026-"), "one row per event")
}

// TestMarkdownMerged checks what the review of incident 57 must say: the
// events a merge copied from incident 56 show in its timeline, but are
// not its pages or acts; its first acknowledgement is a snooze.
func TestMarkdownMerged(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "merged.review"))
	require.NoError(t, err)
	_, md, ok := strings.Cut(string(b), separator)
	require.True(t, ok)
	for _, line := range []string{
		// 00:59:30 UTC is CET; Berlin moved to CEST at 01:00 UTC.
		"| Opened | 2026-03-29 00:59:30 UTC (01:59:30 CET) |",
		"| Acknowledged | 2026-03-29 01:05:00 UTC (03:05:00 CEST) by erin (Erin Vogel) via voice, snoozing it |",
		"| Time to acknowledge | 5m30s |",
		"| Time to resolve | not resolved |",
		"| 2 | frank | sms | 2 | not sent | — | failed 2026-03-29 00:59:31 UTC (01:59:31 CET): unknown user frank |",
		"| 1 | erin (Erin Vogel) | sms | 2 | 2026-03-29 00:59:41 UTC (01:59:41 CET) | 11s | delivered 2026-03-29 01:00:10 UTC (03:00:10 CEST), after a try that failed |",
		"| 2026-03-29 02:06:00 UTC (04:06:00 CEST) | 1h6m30s | escalated to step 2: user:gina | erin (Erin Vogel) | cli | — |",
		"| 2026-03-29 02:03:00 UTC (04:03:00 CEST) | 1h3m30s | acknowledged | by gina (Gina Rossi) · how sms · #56: |",
	} {
		require.Contains(t, md, line+"\n")
	}
	paged := whoWasPaged(md)
	require.NotContains(t, paged, "gina", "incident 56's page is not 57's")
	acted := md[strings.Index(md, "## Who acted"):strings.Index(md, "## Notes")]
	require.NotContains(t, acted, "| gina (Gina Rossi) |", "incident 56's acknowledgement is not 57's")
}

// TestMarkdownBoundsAlertEvents: the review of an incident of a storm
// lists its first 50 alerts' events and counts the rest in one row,
// where the first of them would be; every page and act is listed,
// before and after it.
func TestMarkdownBoundsAlertEvents(t *testing.T) {
	t0 := time.Date(2026, 11, 23, 22, 0, 0, 0, time.UTC)
	inc := &klaxon.Incident{ID: "42", Summary: "storm", State: klaxon.StateResolved, CreatedAt: t0, AlertCount: 10_001}
	events := []klaxon.Event{{At: t0, Kind: klaxon.EventTriggered, Alert: "am/0"}}
	for i := 1; i <= 10_000; i++ {
		at := t0.Add(time.Duration(i) * 100 * time.Millisecond)
		kind := klaxon.EventAlertJoined
		if i > 9_000 {
			kind = klaxon.EventAlertResolved
		}
		events = append(events, klaxon.Event{At: at, Kind: kind, Alert: "am/" + strconv.Itoa(i)})
		switch i {
		case 10:
			events = append(events, klaxon.Event{At: at, Kind: klaxon.EventPageSent, User: "alice", Via: "sms", Notification: 1})
		case 5_000:
			events = append(events, klaxon.Event{At: at, Kind: klaxon.EventAcknowledged, By: "alice", How: "sms"})
		}
	}
	events = append(events, klaxon.Event{At: t0.Add(20 * time.Minute), Kind: klaxon.EventResolved, By: "bob", How: "web"})

	md := review.Markdown(inc, events, nil, time.UTC)
	tablesHold(t, md)
	timeline := md[strings.Index(md, "## Timeline"):]
	require.Equal(t, 50, strings.Count(timeline, "| alert_joined |"))
	require.Zero(t, strings.Count(timeline, "| alert_resolved |"))
	require.Contains(t, timeline, "| 2026-11-23 22:00:05 UTC | 5s | … | 9,950 more alert events until 2026-11-23 22:16:40 UTC, "+
		"not listed: alert_joined 8,950 · alert_resolved 1,000; GET /v1/incidents/42/timeline lists every event |\n")
	for _, row := range []string{"| page_sent |", "| acknowledged |", "| resolved |", "| triggered |"} {
		require.Equal(t, 1, strings.Count(timeline, row), row)
	}
	require.Less(t, strings.Index(timeline, "| page_sent |"), strings.Index(timeline, "| … |"))
	require.Less(t, strings.Index(timeline, "| … |"), strings.Index(timeline, "| acknowledged |"))
	require.Less(t, len(md), 16<<10, "the review stays small")
}

// TestMarkdownBoundsLongTimeline: the review of an incident paged for
// hours and worked by hand (3,000 pages, acknowledgements and escalations,
// 1,000 notes) lists the first and the last 50 rows of each table and
// counts the rest in one row between them, so that it stays small.
func TestMarkdownBoundsLongTimeline(t *testing.T) {
	t0 := time.Date(2026, 11, 23, 22, 0, 0, 0, time.UTC)
	inc := &klaxon.Incident{ID: "42", Summary: "long", State: klaxon.StateTriggered, CreatedAt: t0, AlertCount: 1}
	events := []klaxon.Event{{At: t0, Kind: klaxon.EventTriggered, Alert: "am/0"}}
	step := 0
	for i := 1; i <= 1_000; i++ {
		at := t0.Add(time.Duration(i) * time.Minute)
		events = append(events,
			klaxon.Event{At: at, Kind: klaxon.EventNote, By: "ops", Text: "note " + strconv.Itoa(i) + ": " + strings.Repeat("checked again. ", 60)},
			klaxon.Event{At: at, Kind: klaxon.EventAcknowledged, By: "ops", How: "api"},
			klaxon.Event{At: at, Kind: klaxon.EventEscalated, By: "ops", How: "api", Step: &step},
		)
		for j, via := range []string{"sms", "email", "webhook"} {
			events = append(events, klaxon.Event{At: at, Kind: klaxon.EventPageSent, Step: &step, User: "alice", Via: via, Notification: 3*i + j})
		}
	}

	md := review.Markdown(inc, events, nil, time.UTC)
	tablesHold(t, md)
	section := func(from, to string) string {
		end := len(md)
		if to != "" {
			end = strings.Index(md, to)
		}
		return md[strings.Index(md, from):end]
	}
	paged := section("## Who was paged", "## Who acted")
	require.Equal(t, 100, strings.Count(paged, " | alice |"), "the rows of pages")
	require.Contains(t, paged, "\n| alice | 3,000 | email 1,000, sms 1,000, webhook 1,000 |\n", "every page counted")
	require.Contains(t, paged, "| 2,900 more pages, not listed: GET /v1/incidents/42/timeline lists every event | … | … | … | … | … | … |\n")
	require.Contains(t, paged, "| 3 | alice |", "the first page")
	require.Contains(t, paged, "| 3002 | alice |", "the last page")
	acts := section("## Who acted", "## Notes")
	require.Equal(t, 100, strings.Count(acts, "| ops |"))
	require.Contains(t, acts, "| 1,900 more acts, not listed:")
	notes := section("## Notes", "## Timeline")
	require.Equal(t, 100, strings.Count(notes, "| note | ops |"))
	require.Contains(t, notes, "| 900 more notes, not listed:")
	require.Contains(t, notes, "note 1000: ", "the last note")
	timeline := section("## Timeline", "")
	require.Contains(t, timeline, "| 5,901 more events, not listed:")
	require.Contains(t, timeline, "| triggered |", "how it began")
	require.Less(t, len(md), 256<<10, "the review stays small")
}

// TestMarkdownBoundsStormPagedLong: the review of a storm's incident that
// then paged, or was worked, for a while still says how many alerts'
// events it left out. The row that counts them comes right after the
// first 50 alerts' events, 52nd of the timeline's rows, inside the rows
// that a table of more than 100 rows leaves out: it is dropped, and the
// row that stands for the rows left out counts it as one event. Live, a
// 312,000-alert incident paged and noted on for minutes read "4 more
// events, not listed", and nowhere the 318,000 alerts' events.
func TestMarkdownBoundsStormPagedLong(t *testing.T) {
	t0 := time.Date(2026, 11, 23, 22, 0, 0, 0, time.UTC)
	step := 0
	tests := []struct {
		name   string
		people int    // pages, then notes, after the storm
		want   string // the row that counts the alerts' events left out
	}{
		{"a few pages", 10, "| 9,950 more alert events until 2026-11-23 22:16:40 UTC, not listed: alert_joined 9,950;"},
		{"paged for hours", 60, "9,950 more alert events"},
		{"paged and noted for days", 500, "9,950 more alert events"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inc := &klaxon.Incident{ID: "42", Summary: "storm", State: klaxon.StateTriggered, CreatedAt: t0, AlertCount: 10_001}
			events := []klaxon.Event{{At: t0, Kind: klaxon.EventTriggered, Alert: "am/0"}}
			for i := 1; i <= 10_000; i++ {
				events = append(events, klaxon.Event{At: t0.Add(time.Duration(i) * 100 * time.Millisecond), Kind: klaxon.EventAlertJoined, Alert: "am/" + strconv.Itoa(i)})
			}
			for i := 1; i <= tt.people; i++ {
				at := t0.Add(time.Hour + time.Duration(i)*time.Minute)
				if i%2 == 0 {
					events = append(events, klaxon.Event{At: at, Kind: klaxon.EventNote, By: "ops", Text: "still on it"})
					continue
				}
				events = append(events, klaxon.Event{At: at, Kind: klaxon.EventPageSent, Step: &step, User: "alice", Via: "sms", Notification: i})
			}

			md := review.Markdown(inc, events, nil, time.UTC)
			tablesHold(t, md)
			var counted []string // the rows that count what is not listed
			for _, line := range strings.Split(md[strings.Index(md, "## Timeline"):], "\n") {
				if strings.Contains(line, "not listed") {
					counted = append(counted, line)
				}
			}
			require.Contains(t, strings.Join(counted, "\n"), tt.want)
		})
	}
}

// TestMarkdownUTCByAnotherName: a reader whose zone is UTC under another
// name (a server's local zone is often Etc/UTC) is told its times are in
// UTC, once, as each time is written.
func TestMarkdownUTCByAnotherName(t *testing.T) {
	t0 := time.Date(2026, 11, 23, 22, 0, 0, 0, time.UTC)
	inc := &klaxon.Incident{ID: "42", Summary: "disk full", State: klaxon.StateTriggered, CreatedAt: t0}
	for _, name := range []string{"UTC", "Etc/UTC", "Etc/Zulu"} {
		reader, err := time.LoadLocation(name)
		require.NoError(t, err)
		md := review.Markdown(inc, nil, nil, reader)
		require.Contains(t, md, "\n\nTimes are in UTC.\n\n", name)
		require.Contains(t, md, "| Opened | 2026-11-23 22:00 UTC |\n", name)
	}
	berlin, err := time.LoadLocation("Europe/Berlin")
	require.NoError(t, err)
	require.Contains(t, review.Markdown(inc, nil, nil, berlin), "\n\nTimes are in UTC and in Europe/Berlin.\n\n")
}
