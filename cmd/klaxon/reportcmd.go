package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/klaxonhq/klaxon/api"
)

// report prints MTTA, MTTR, pages and the noisiest alerts of the
// incidents opened in a window.
func report(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("klaxon report", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c := clientFlags(fs)
	since := fs.String("since", "30d", "incidents opened since: a duration back from now (30d, 12h) or an RFC 3339 time")
	by := fs.String("by", "", "group by policy, service, integration or user")
	asJSON := fs.Bool("json", false, "print JSON")
	if pos, err := parseFlags(fs, args); err != nil {
		return err
	} else if len(pos) > 0 {
		fmt.Fprintln(stderr, "usage: klaxon report [--since 30d] [--by policy|service|integration|user] [--json]")
		return errUsage
	}
	q := url.Values{"since": {*since}}
	if *by != "" {
		q.Set("by", *by)
	}
	var body api.ReportBody
	if err := c.do(ctx, http.MethodGet, "/v1/report?"+q.Encode(), nil, &body); err != nil {
		return err
	}
	if *asJSON {
		return printJSON(stdout, body)
	}
	// The window in this machine's zone, as the other commands print
	// their times.
	fmt.Fprint(stdout, body.In(time.Local).Text())
	if body.Truncated {
		fmt.Fprintln(stdout, "(only the newest 10,000 incidents of the window were counted)")
	}
	return nil
}
