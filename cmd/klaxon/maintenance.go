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

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/api"
)

const maintenanceUsage = `usage:
  klaxon maintenance start --matchers 'service="db"' [--matchers ...] --for 2h [--comment TEXT]
  klaxon maintenance list
  klaxon maintenance end ID`

// matcherList is a repeated --matchers flag.
type matcherList []string

func (m *matcherList) String() string     { return strings.Join(*m, " ") }
func (m *matcherList) Set(v string) error { *m = append(*m, v); return nil }

// maintenanceCmd starts, lists and ends runtime maintenance windows.
func maintenanceCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, maintenanceUsage)
		return errUsage
	}
	sub := args[0]
	switch {
	case isHelp(sub):
		fmt.Fprintln(stdout, maintenanceUsage)
		return nil
	case sub != "start" && sub != "list" && sub != "end":
		fmt.Fprintf(stderr, "klaxon maintenance: unknown command %q\n%s\n", sub, maintenanceUsage)
		return errUsage
	}
	fs := flag.NewFlagSet("klaxon maintenance "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	synopsis(fs, "usage: "+map[string]string{
		"start": `klaxon maintenance start --matchers 'service="db"' [--matchers ...] --for 2h [--comment TEXT]`,
		"list":  "klaxon maintenance list",
		"end":   "klaxon maintenance end ID",
	}[sub])
	c := clientFlags(fs)
	// Only start takes these: list and end neither show nor take them.
	var matchers matcherList
	span, comment := new(string), new(string)
	if sub == "start" {
		fs.Var(&matchers, "matchers", `an alert matcher, Alertmanager's syntax (service="db"); repeat for more, all must match`)
		fs.StringVar(span, "for", "", "how long from now: 30m, 2h")
		fs.StringVar(comment, "comment", "", "why, for the others")
	}
	pos, err := parseFlags(fs, args[1:])
	if err != nil {
		return err
	}
	switch {
	case sub == "start" && len(pos) == 0:
		var m klaxon.Maintenance
		if err := c.do(ctx, http.MethodPost, "/v1/maintenance", api.MaintenanceRequest{Matchers: matchers, Duration: *span, Comment: *comment}, &m); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "maintenance %s: %s until %s\n", m.ID, strings.Join(m.Matchers, ", "), m.To.Local().Format(timeStamp))
		return nil
	case sub == "list" && len(pos) == 0:
		var list api.MaintenanceList
		if err := c.do(ctx, http.MethodGet, "/v1/maintenance", nil, &list); err != nil {
			return err
		}
		if len(list.Maintenance) == 0 {
			fmt.Fprintln(stdout, "no maintenance windows set at runtime (klaxon.yaml may have recurring ones)")
			return nil
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tFROM\tTO\tMATCHERS\tBY\tCOMMENT")
		for _, m := range list.Maintenance {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", m.ID, m.From.Local().Format(timeStamp), m.To.Local().Format(timeStamp), strings.Join(m.Matchers, ", "), m.By, m.Comment)
		}
		return tw.Flush()
	case sub == "end" && len(pos) == 1:
		if err := c.do(ctx, http.MethodDelete, "/v1/maintenance/"+url.PathEscape(pos[0]), nil, nil); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "maintenance %s ended\n", pos[0])
		return nil
	}
	fmt.Fprintln(stderr, maintenanceUsage)
	return errUsage
}
