package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/api"
)

// parseTime reads a time given on the command line: "now", a duration
// from now ("+2h", "-30m"), RFC 3339, or "2006-01-02T15:04" in the local
// time zone.
func parseTime(s string, now time.Time) (time.Time, error) {
	switch {
	case s == "now":
		return now, nil
	case strings.HasPrefix(s, "+") || strings.HasPrefix(s, "-"):
		d, err := time.ParseDuration(s)
		return now.Add(d), err
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	t, err := time.ParseInLocation("2006-01-02T15:04", s, time.Local)
	if err != nil {
		return t, fmt.Errorf("time %q: want now, +2h, 2026-12-24T09:00 or RFC 3339", s)
	}
	return t, nil
}

// timeFlag is a flag holding a time in parseTime's forms.
type timeFlag struct{ t time.Time }

func (f *timeFlag) String() string { return f.t.Format(time.RFC3339) }
func (f *timeFlag) Set(s string) (err error) {
	f.t, err = parseTime(s, time.Now())
	return err
}

// oncall prints who is on call: every schedule, or one.
func oncall(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("klaxon oncall", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c := clientFlags(fs)
	at := &timeFlag{time.Now()}
	fs.Var(at, "at", "when (now, +2h, 2026-12-24T09:00, RFC 3339)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	q := "?" + url.Values{"at": {at.t.Format(time.RFC3339)}}.Encode()
	var list api.OnCallList
	switch len(pos) {
	case 0:
		err = c.do(ctx, http.MethodGet, "/v1/oncall"+q, nil, &list)
	case 1:
		var one api.OnCall
		err = c.do(ctx, http.MethodGet, "/v1/schedules/"+url.PathEscape(pos[0])+"/oncall"+q, nil, &one)
		list.OnCall = []api.OnCall{one}
	default:
		fmt.Fprintln(stderr, "usage: klaxon oncall [SCHEDULE] [--at TIME]")
		return errUsage
	}
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SCHEDULE\tON CALL\tAT")
	for _, oc := range list.OnCall {
		who := strings.Join(oc.Users, ", ")
		if who == "" {
			who = "(nobody)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", oc.Schedule, who, inZone(oc.At, oc.TimeZone))
	}
	return tw.Flush()
}

// inZone formats t in the IANA zone tz, falling back to UTC.
func inZone(t time.Time, tz string) string {
	if loc, err := time.LoadLocation(tz); err == nil {
		t = t.In(loc)
	}
	return t.Format("Mon 2006-01-02 15:04 MST")
}

// scheduleCmd runs `klaxon schedule show NAME --from T --to T`.
func scheduleCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("klaxon schedule show", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c := clientFlags(fs)
	now := time.Now()
	from, to := &timeFlag{now}, &timeFlag{now.Add(14 * 24 * time.Hour)}
	fs.Var(from, "from", "start of the window (default now)")
	fs.Var(to, "to", "end of the window (default two weeks on)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 2 || pos[0] != "show" {
		fmt.Fprintln(stderr, "usage: klaxon schedule show NAME [--from TIME] [--to TIME]")
		return errUsage
	}
	q := url.Values{"from": {from.t.Format(time.RFC3339)}, "to": {to.t.Format(time.RFC3339)}}
	var list api.ShiftList
	if err := c.do(ctx, http.MethodGet, "/v1/schedules/"+url.PathEscape(pos[1])+"/shifts?"+q.Encode(), nil, &list); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "USER\tFROM\tTO\t(%s)\n", list.TimeZone)
	for _, sh := range list.Shifts {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", sh.User, inZone(sh.Start, list.TimeZone), inZone(sh.End, list.TimeZone))
	}
	return tw.Flush()
}

// override runs `klaxon override SCHEDULE USER --from T --to T`,
// `klaxon override list [SCHEDULE]` and `klaxon override delete SCHEDULE ID`.
func override(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("klaxon override", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c := clientFlags(fs)
	from, to := &timeFlag{}, &timeFlag{}
	fs.Var(from, "from", "start (now, +2h, 2026-12-24T09:00, RFC 3339)")
	fs.Var(to, "to", "end")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	const usage = "usage: klaxon override SCHEDULE USER --from TIME --to TIME\n       klaxon override list [SCHEDULE]\n       klaxon override delete SCHEDULE ID"
	switch {
	case len(pos) >= 1 && len(pos) <= 2 && pos[0] == "list":
		return listOverrides(ctx, c, pos[1:], stdout)
	case len(pos) == 3 && pos[0] == "delete":
		if err := c.do(ctx, http.MethodDelete, "/v1/schedules/"+url.PathEscape(pos[1])+"/overrides/"+url.PathEscape(pos[2]), nil, nil); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "override %s of %s deleted\n", pos[2], pos[1])
		return nil
	case len(pos) == 2 && !from.t.IsZero() && !to.t.IsZero():
		var o klaxon.Override
		req := api.OverrideRequest{User: pos[1], From: from.t, To: to.t}
		if err := c.do(ctx, http.MethodPost, "/v1/schedules/"+url.PathEscape(pos[0])+"/overrides", req, &o); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "override %s: %s on call in %s from %s to %s\n", o.ID, o.User, o.Schedule,
			o.From.Local().Format(time.DateTime), o.To.Local().Format(time.DateTime))
		return nil
	}
	fmt.Fprintln(stderr, usage)
	return errUsage
}

func listOverrides(ctx context.Context, c *client, names []string, stdout io.Writer) error {
	if len(names) == 0 {
		var all api.OnCallList
		if err := c.do(ctx, http.MethodGet, "/v1/oncall", nil, &all); err != nil {
			return err
		}
		for _, oc := range all.OnCall {
			names = append(names, oc.Schedule)
		}
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSCHEDULE\tUSER\tFROM\tTO\tBY")
	for _, name := range names {
		var list api.OverrideList
		if err := c.do(ctx, http.MethodGet, "/v1/schedules/"+url.PathEscape(name)+"/overrides", nil, &list); err != nil {
			return err
		}
		for _, o := range list.Overrides {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", o.ID, o.Schedule, o.User,
				o.From.Local().Format(time.DateTime), o.To.Local().Format(time.DateTime), o.By)
		}
	}
	return tw.Flush()
}
