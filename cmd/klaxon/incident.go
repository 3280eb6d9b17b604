package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/api"
)

const incidentUsage = `usage:
  klaxon incident show ID [--limit N] [--json]     header, first alerts and timeline
  klaxon incident alerts ID [--cursor C] [--limit N] [--json]
  klaxon incident timeline ID [--offset O] [--limit N] [--json]
  klaxon incident export ID [--tz ZONE]             the review in Markdown: times in UTC and ZONE (default: this machine's)`

// incidentCmd runs "klaxon incident show|alerts|timeline ID": an incident
// a page at a time, so that one of 100,000 alerts prints as fast as one of
// two.
func incidentCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, incidentUsage)
		return errUsage
	}
	sub := args[0]
	switch {
	case sub == "export":
		return exportReview(ctx, args[1:], stdout, stderr)
	case isHelp(sub):
		fmt.Fprintln(stdout, incidentUsage)
		return nil
	case sub != "show" && sub != "alerts" && sub != "timeline":
		fmt.Fprintf(stderr, "klaxon incident: unknown command %q\n%s\n", sub, incidentUsage)
		return errUsage
	}
	fs := flag.NewFlagSet("klaxon incident "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	synopsis(fs, "usage: "+map[string]string{
		"show":     "klaxon incident show ID [--limit N] [--json]",
		"alerts":   "klaxon incident alerts ID [--cursor C] [--limit N] [--json]",
		"timeline": "klaxon incident timeline ID [--offset O] [--limit N] [--json]",
	}[sub])
	c := clientFlags(fs)
	limit := fs.Int("limit", 20, "alerts and events per page (at most 1000)")
	cursor, offset := new(string), new(int)
	switch sub {
	case "alerts":
		fs.StringVar(cursor, "cursor", "", "where the page starts, as the previous page said")
	case "timeline":
		fs.IntVar(offset, "offset", 0, "the first event of the page, from 0")
	}
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := parseFlags(fs, args[1:])
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		fmt.Fprintln(stderr, incidentUsage)
		return errUsage
	}
	path := "/v1/incidents/" + url.PathEscape(pos[0])
	q := url.Values{"limit": {strconv.Itoa(*limit)}}
	var out any
	switch sub {
	case "show":
		out = &api.IncidentView{}
	case "alerts":
		path += "/alerts"
		q.Set("cursor", *cursor)
		out = &api.AlertPage{}
	case "timeline":
		path += "/timeline"
		q.Set("offset", strconv.Itoa(*offset))
		out = &api.TimelinePage{}
	}
	if err := c.do(ctx, http.MethodGet, path+"?"+q.Encode(), nil, out); err != nil {
		return err
	}
	if *asJSON {
		return printJSON(stdout, out)
	}
	id := pos[0]
	switch v := out.(type) {
	case *api.IncidentView:
		inc := v.Incident
		fmt.Fprintf(stdout, "incident %s: %s\n", inc.ID, inc.Summary)
		fmt.Fprintf(stdout, "state %s, urgency %s, %d of %d alerts firing, opened %s\n",
			inc.State, inc.Urgency, inc.FiringCount, inc.AlertCount, inc.CreatedAt.Local().Format(timeStamp))
		fmt.Fprintf(stdout, "policy %s, step %d, round %d\n\n", inc.Policy.Name, inc.Escalation.Step+1, inc.Escalation.Round+1)
		printAlerts(stdout, id, v.Alerts, v.AlertsNext)
		fmt.Fprintln(stdout)
		printTimeline(stdout, id, v.Timeline, v.TimelineTotal, v.TimelineNext)
	case *api.AlertPage:
		printAlerts(stdout, id, v.Alerts, v.Next)
	case *api.TimelinePage:
		printTimeline(stdout, id, v.Timeline, v.Total, v.Next)
	}
	return nil
}

// printAlerts prints a page of incident id's alerts, and the command for
// the next page when there is one.
func printAlerts(w io.Writer, id string, alerts []klaxon.AlertState, next string) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ALERT\tSTATUS\tCOUNT\tLAST SEEN\tSUMMARY")
	for _, a := range alerts {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\n", a.Key, a.Status, a.Count, a.LastSeen.Local().Format(timeStamp), cell(a.Summary, maxCell))
	}
	_ = tw.Flush()
	if next != "" {
		fmt.Fprintf(w, "more alerts: klaxon incident alerts %s --cursor %s\n", id, shellQuote(next))
	}
}

// printTimeline prints a page of incident id's timeline, and the command
// for the next page when there is one.
func printTimeline(w io.Writer, id string, events []klaxon.Event, total, next int) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "AT\tEVENT\tWHO\tDETAIL")
	for _, e := range events {
		who := e.User
		if e.By != "" {
			who = e.By + " (" + e.How + ")"
		}
		if e.ViaToken != "" {
			who = e.By + " (" + e.How + " via token " + e.ViaToken + ")"
		}
		detail := e.Text
		if e.Via != "" {
			detail = e.Via + " " + detail
		}
		if e.Alert != "" && detail == "" {
			detail = e.Alert
		}
		if e.By != "" && e.User != "" {
			detail = strings.TrimSpace(e.User + " " + detail) // who was assigned, paged
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", e.At.Local().Format(timeStampMilli), e.Kind, who, cell(detail, maxDetail))
	}
	_ = tw.Flush()
	if next > 0 {
		fmt.Fprintf(w, "%d events in all; more: klaxon incident timeline %s --offset %d\n", total, id, next)
	}
}

// shellQuote quotes a cursor for a shell when it holds anything but
// letters, digits and -_./: alert keys, which cursors may be, can.
func shellQuote(s string) string {
	plain := s != ""
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:", r)) {
			plain = false
			break
		}
	}
	if plain {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// exportReview prints an incident's review in Markdown.
func exportReview(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("klaxon incident export", flag.ContinueOnError)
	fs.SetOutput(stderr)
	synopsis(fs, "usage: klaxon incident export ID [--tz ZONE]")
	c := clientFlags(fs)
	tz := fs.String("tz", localZone(), "the reader's time zone, an IANA name")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		fmt.Fprintln(stderr, incidentUsage)
		return errUsage
	}
	var md []byte
	q := url.Values{"tz": {*tz}}
	if err := c.do(ctx, http.MethodGet, "/v1/incidents/"+url.PathEscape(pos[0])+"/review.md?"+q.Encode(), nil, &md); err != nil {
		return err
	}
	_, err = stdout.Write(md)
	return err
}

// localZone is this machine's zone by its IANA name, which the server
// knows: TZ's (a name, or a zone file's path under zoneinfo/), else the
// /etc/localtime link's; UTC when neither names one (TZ a POSIX rule,
// or a file that is no link).
func localZone() string {
	if name, ok := ianaName(strings.TrimPrefix(os.Getenv("TZ"), ":")); ok {
		return name
	}
	if target, err := os.Readlink("/etc/localtime"); err == nil {
		if name, ok := ianaName(target); ok {
			return name
		}
	}
	return "UTC"
}

// ianaName is the zone tz names, a name or the path of its file under
// zoneinfo/, when it is one this machine's Go knows.
func ianaName(tz string) (string, bool) {
	if _, name, ok := strings.Cut(tz, "zoneinfo/"); ok {
		tz = name
	}
	if tz == "" || tz == "Local" || strings.HasPrefix(tz, "/") {
		return "", false // Go's names for this machine's zone, not IANA's
	}
	if _, err := time.LoadLocation(tz); err != nil {
		return "", false
	}
	return tz, true
}
