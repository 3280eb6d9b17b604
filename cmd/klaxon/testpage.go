package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/klaxonhq/klaxon/api"
)

// testPage runs `klaxon test-page USER [--via sms|voice|email|webhook|slack]`.
func testPage(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("klaxon test-page", flag.ContinueOnError)
	fs.SetOutput(stderr)
	synopsis(fs, "usage: klaxon test-page USER [--via sms|voice|email|webhook|slack]")
	c := clientFlags(fs)
	via := fs.String("via", "", "sms, voice, email, webhook or slack (default: each of the user's notification rules)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		fmt.Fprintln(stderr, "usage: klaxon test-page USER [--via sms|voice|email|webhook|slack]")
		return errUsage
	}
	var resp api.TestPageResponse
	if err := c.do(ctx, http.MethodPost, "/v1/users/"+url.PathEscape(pos[0])+"/test-page", api.TestPageRequest{Via: *via}, &resp); err != nil {
		return err
	}
	failed := 0
	for _, r := range resp.Results {
		state := "sent"
		if !r.Sent {
			state, failed = "NOT SENT", failed+1
		}
		fmt.Fprintf(stdout, "%s: %s: %s\n", r.Via, state, r.Answer)
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d test pages to %s not sent", failed, len(resp.Results), pos[0])
	}
	return nil
}
