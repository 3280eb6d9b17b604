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

// oncall prints who is on call: every schedule, or one.
func oncall(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("klaxon oncall", flag.ContinueOnError)
	fs.SetOutput(stderr)
	synopsis(fs, "usage: klaxon oncall [SCHEDULE] [--at TIME]")
	c := clientFlags(fs)
	at := newTimeFlag(time.Now(), "now")
	fs.Var(at, "at", "when: "+timeHelp+"; a wall time is in the schedule's time zone (of every schedule: the local one)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	loc := time.Local
	if len(pos) == 1 {
		if loc, err = scheduleZone(ctx, c, pos[0], at); err != nil {
			return err
		}
	}
	q := "?" + url.Values{"at": {at.in(loc).Format(time.RFC3339Nano)}}.Encode()
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
	synopsis(fs, "usage: klaxon schedule show NAME [--from TIME] [--to TIME]")
	c := clientFlags(fs)
	now := time.Now()
	from, to := newTimeFlag(now, "now"), newTimeFlag(now, "+2w")
	fs.Var(from, "from", "start of the window: "+timeHelp+"; a wall time is in the schedule's time zone")
	fs.Var(to, "to", "end of the window, likewise")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 2 || pos[0] != "show" {
		fmt.Fprintln(stderr, "usage: klaxon schedule show NAME [--from TIME] [--to TIME]")
		return errUsage
	}
	loc, err := scheduleZone(ctx, c, pos[1], from, to)
	if err != nil {
		return err
	}
	q := url.Values{"from": {from.in(loc).Format(time.RFC3339Nano)}, "to": {to.in(loc).Format(time.RFC3339Nano)}}
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
	synopsis(fs, "usage: klaxon override SCHEDULE USER --from TIME --to TIME\n       klaxon override list [SCHEDULE]\n       klaxon override delete SCHEDULE ID")
	c := clientFlags(fs)
	now := time.Now()
	from, to := newTimeFlag(now, ""), newTimeFlag(now, "")
	fs.Var(from, "from", "start: "+timeHelp+"; a wall time is in the schedule's time zone")
	fs.Var(to, "to", "end, likewise")
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
	case len(pos) == 2 && from.isSet() && to.isSet():
		loc, err := scheduleZone(ctx, c, pos[0], from, to)
		if err != nil {
			return err
		}
		var o klaxon.Override
		req := api.OverrideRequest{User: pos[1], From: from.in(loc), To: to.in(loc)}
		if err := c.do(ctx, http.MethodPost, "/v1/schedules/"+url.PathEscape(pos[0])+"/overrides", req, &o); err != nil {
			return err
		}
		// Said in the schedule's zone, as --from and --to are read.
		tz := scheduleTimeZone(ctx, c, pos[0])
		fmt.Fprintf(stdout, "override %s: %s on call in %s from %s to %s\n", o.ID, o.User, o.Schedule,
			stampIn(o.From, tz), stampIn(o.To, tz))
		return nil
	}
	fmt.Fprintln(stderr, usage)
	return errUsage
}

func listOverrides(ctx context.Context, c *client, names []string, stdout io.Writer) error {
	zones := map[string]string{} // each schedule's, which its times are printed in
	if len(names) == 0 {
		var all api.OnCallList
		if err := c.do(ctx, http.MethodGet, "/v1/oncall", nil, &all); err != nil {
			return err
		}
		for _, oc := range all.OnCall {
			names = append(names, oc.Schedule)
			zones[oc.Schedule] = oc.TimeZone
		}
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSCHEDULE\tUSER\tFROM\tTO\tBY")
	for _, name := range names {
		var list api.OverrideList
		if err := c.do(ctx, http.MethodGet, "/v1/schedules/"+url.PathEscape(name)+"/overrides", nil, &list); err != nil {
			return err
		}
		tz, ok := zones[name]
		if !ok && len(list.Overrides) > 0 {
			tz = scheduleTimeZone(ctx, c, name)
		}
		for _, o := range list.Overrides {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", o.ID, o.Schedule, o.User,
				stampIn(o.From, tz), stampIn(o.To, tz), o.By)
		}
	}
	return tw.Flush()
}

// scheduleTimeZone is the IANA zone of schedule name, "" when the server
// does not say (this machine's zone stands in).
func scheduleTimeZone(ctx context.Context, c *client, name string) string {
	var oc api.OnCall
	if err := c.do(ctx, http.MethodGet, "/v1/schedules/"+url.PathEscape(name)+"/oncall", nil, &oc); err != nil {
		return ""
	}
	return oc.TimeZone
}

// stampIn formats t as the CLI prints a time (timeStamp), in the IANA
// zone tz, or in this machine's when tz is "" or unknown here.
func stampIn(t time.Time, tz string) string {
	loc, err := time.LoadLocation(tz)
	if tz == "" || err != nil {
		loc = time.Local
	}
	return t.In(loc).Format(timeStamp)
}
