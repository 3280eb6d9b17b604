package main

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"
	"unicode"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/api"
	"github.com/klaxonhq/klaxon/incident"
)

// The example config's server and API token, so that the quickstart's
// commands work with no flag and no variable set.
const (
	defaultServer = "http://127.0.0.1:8080"
	defaultToken  = "dev-api-token"
)

// client talks to a Klaxon server's API.
type client struct {
	server string
	token  string
	http   *http.Client
}

// clientFlags registers --server and --token, defaulting to KLAXON_SERVER
// and KLAXON_API_TOKEN, then to the example config's. The token's flag
// has no default of its own, read when the command sends: a default is
// printed by --help and by the usage a wrong flag prints, and a token
// is a secret.
func clientFlags(fs *flag.FlagSet) *client {
	c := &client{http: &http.Client{Timeout: 30 * time.Second}}
	fs.StringVar(&c.server, "server", envOr("KLAXON_SERVER", defaultServer), "Klaxon server URL (KLAXON_SERVER)")
	fs.StringVar(&c.token, "token", "", "API token (default KLAXON_API_TOKEN, else the example config's)")
	return c
}

// apiToken is the token a request carries: --token's, else
// KLAXON_API_TOKEN's, else the example config's.
func (c *client) apiToken() string {
	if c.token != "" {
		return c.token
	}
	return envOr("KLAXON_API_TOKEN", defaultToken)
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// Exit statuses of a command that failed, beyond 1 (any other failure)
// and 2 (a wrong command line, or an argument the server refused), so
// that a script tells one failure from another.
const (
	exitUsage       = 2 // a wrong command line, or an argument the server refused
	exitUnreachable = 3 // no answer from the server
	exitToken       = 4 // the token is wrong, or may not do this
	exitNotFound    = 5 // no such incident, schedule, ...
	exitConflict    = 6 // not as the incident stands: resolved, merged
)

// exitError is a failure with its own exit status.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// fail is err with exit status code.
func fail(code int, format string, args ...any) error {
	return &exitError{code, fmt.Errorf(format, args...)}
}

// base is the server's URL, checked: a URL without its scheme
// (127.0.0.1:8080) would otherwise fail with Go's words for it.
func (c *client) base() (string, error) {
	u, err := url.Parse(c.server)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fail(exitUsage, "--server %q: want the URL of a Klaxon server, like %s (--server or KLAXON_SERVER)", shown(c.server), defaultServer)
	}
	return strings.TrimRight(c.server, "/"), nil
}

// do sends a request and decodes a 2xx JSON answer into out; other
// answers become errors carrying the server's message, what to do about
// it, and an exit status of their own.
func (c *client) do(ctx context.Context, method, path string, in, out any) error {
	return c.send(ctx, method, path, in, out, "")
}

// retryWaits are how long act waits before it sends a command again.
var retryWaits = []time.Duration{250 * time.Millisecond, time.Second}

// act sends a command on incident id (POST /v1/incidents/{id}/{command})
// with an Idempotency-Key of its own, and sends it again with the same
// key when no answer came back: the server acts once however many of
// the tries reached it. A try refused its connection, or whose server's
// name does not resolve, was never sent. Once a try may have acted
// unanswered, the error of a later one that is no answer of the server
// to the key (a 4xx) says that the command may have acted, and how to
// see: the server down as it restarts, or a 5xx, says nothing of the
// first.
func (c *client) act(ctx context.Context, id, command string, in, out any) error {
	var k [16]byte
	_, _ = rand.Read(k[:])
	key := "cli-" + hex.EncodeToString(k[:])
	path := "/v1/incidents/" + url.PathEscape(id) + "/" + command
	mayHaveActed := func(err error) error {
		return fail(exitUnreachable, "%w; the command may have acted: see klaxon incident show %s before you run it again", err, id)
	}
	lost := false // a try may have reached the server, unanswered
	for try := 0; ; try++ {
		err := c.send(ctx, http.MethodPost, path, in, out, key)
		var exit *exitError
		answered := errors.As(err, &exit) && exit.code != exitUnreachable // a 4xx, or never sent (--server)
		switch {
		case err == nil || answered:
			return err
		case exit == nil || neverSent(err):
			// A 5xx, an answer cut short; or a try never sent.
			if lost {
				return mayHaveActed(err)
			}
			return err
		}
		lost = true
		if try == len(retryWaits) {
			return mayHaveActed(err)
		}
		select {
		case <-ctx.Done():
			return mayHaveActed(err)
		case <-time.After(retryWaits[try]):
		}
	}
}

// neverSent reports whether err, a request's, says that it never left
// this machine: its connection refused, or its server's name unknown.
func neverSent(err error) bool {
	var dns *net.DNSError
	return errors.Is(err, syscall.ECONNREFUSED) || errors.As(err, &dns)
}

// send is do with an Idempotency-Key when key is not empty.
func (c *client) send(ctx context.Context, method, path string, in, out any, key string) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	base, err := c.base()
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, method, base+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.apiToken())
	req.Header.Set("User-Agent", "klaxon-cli/"+strings.Fields(buildVersion())[0])
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return unreachable(shown(base), err)
	}
	defer resp.Body.Close()
	cutShort := func(err error) error {
		// The server answered and may have acted: an answer lost.
		return fail(exitUnreachable, "the answer of the Klaxon server at %s was cut short (%w): see its logs, and what is between it and you", shown(base), err)
	}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer+1))
	if err != nil {
		return cutShort(err)
	}
	if len(raw) > maxAnswer {
		return fmt.Errorf("%s %s: the answer is over %d MiB; ask for fewer (--limit)", method, path, maxAnswer>>20)
	}
	if resp.StatusCode/100 != 2 {
		return answerError(resp, raw, method, path)
	}
	switch out := out.(type) {
	case nil:
		return nil
	case *[]byte:
		*out = raw
		return nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		// An answer without a length (Connection: close, which ends it
		// by closing) reads whole however soon it was cut: only its
		// JSON, short of its end, tells.
		var se *json.SyntaxError
		if errors.As(err, &se) && se.Offset >= int64(len(raw)) {
			return cutShort(err)
		}
		return err
	}
	return nil
}

// shown is base as an error says it: without a password in it, even
// when base is no URL (a scheme left out: ops:pw@host:8080, which Go
// reads as the scheme "ops"; a password typed as it is, with a / # or ?
// in it, which Go reads as the path, fragment or query). The password
// runs to the last @: a base URL has no other, and one in a path or
// query has no ':' before it but past a /, ? or #. A URL Go takes is
// read as Go reads it (and sends it): an @ in its path or query after a
// port is no password's.
func shown(base string) string {
	if u, err := url.Parse(base); err == nil && u.Host != "" && (u.Scheme == "http" || u.Scheme == "https") {
		if _, ok := u.User.Password(); !ok {
			return base
		}
		return u.Redacted()
	}
	start := 0
	if i := strings.Index(base, "://"); i >= 0 {
		start = i + len("://")
	}
	at := strings.LastIndexByte(base[start:], '@')
	if at < 0 {
		return base
	}
	user, _, hasPassword := strings.Cut(base[start:start+at], ":")
	if !hasPassword || strings.ContainsAny(user, "/?#") {
		return base
	}
	return base[:start] + user + ":xxxxx" + base[start+at:]
}

// unreachable is the error of a request that got no answer from base.
func unreachable(base string, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err // without the method and URL, said below
	}
	switch {
	case neverSent(err):
		return fail(exitUnreachable, "cannot reach the Klaxon server at %s (%w): is klaxon serve running there? Point --server or KLAXON_SERVER at it", base, err)
	case ue != nil && ue.Timeout():
		return fail(exitUnreachable, "the Klaxon server at %s did not answer in time (%w): is it overloaded? See its logs", base, err)
	}
	return fail(exitUnreachable, "no answer from the Klaxon server at %s (%w): see its logs, and what is between it and you", base, err)
}

// answerError is the error of a non-2xx answer: the server's message
// (an {"error": ...} body), and what to do.
func answerError(resp *http.Response, raw []byte, method, path string) error {
	var e struct{ Error string }
	msg := fmt.Sprintf("%s %s: %s", method, path, resp.Status)
	if json.Unmarshal(raw, &e) == nil && e.Error != "" {
		msg = resp.Status + ": " + cell(e.Error, maxDetail)
	}
	switch resp.StatusCode {
	case http.StatusBadRequest:
		return fail(exitUsage, "%s", msg)
	case http.StatusUnauthorized:
		return fail(exitToken, "%s: set --token or KLAXON_API_TOKEN to a token of the server's api.tokens", msg)
	case http.StatusForbidden:
		if strings.Contains(msg, "lacks scope") {
			return fail(exitToken, "%s: use a token with that scope (--token or KLAXON_API_TOKEN)", msg)
		}
		return fail(exitToken, "%s: use a token that may (--token or KLAXON_API_TOKEN)", msg)
	case http.StatusNotFound:
		switch {
		case strings.HasPrefix(path, "/v1/incidents"):
			msg += ": klaxon incidents --state all lists the incidents"
		case strings.HasPrefix(path, "/v1/schedules"):
			msg += ": klaxon oncall lists the schedules"
		case strings.HasPrefix(path, "/v1/maintenance"):
			msg += ": klaxon maintenance list lists the windows"
		}
		return fail(exitNotFound, "%s", msg)
	case http.StatusConflict:
		return fail(exitConflict, "%s", msg)
	}
	return errors.New(msg)
}

// cell is free text (a summary, a note) as a table's last column shows
// it: on one line, its runs of spaces, line breaks and other control
// characters each one space, and cut to max characters, so that a
// summary of several lines (a stack trace) or of 16 KiB is one row.
// --json prints the text whole.
func cell(s string, max int) string {
	var b strings.Builder
	n, space := 0, false
	for _, r := range strings.TrimSpace(s) {
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			space = true
			continue
		}
		if n == max {
			b.WriteString("…")
			break
		}
		if space {
			b.WriteByte(' ')
			n, space = n+1, false
		}
		b.WriteRune(r)
		n++
	}
	return b.String()
}

// timeStamp is how the CLI prints a time, in this machine's zone and
// naming it: the reader may be in another zone than the server, or paste
// the lines to people in several. timeStampMilli is a timeline's, whose
// events may be milliseconds apart and an incident days long.
const (
	timeStamp      = "2006-01-02 15:04:05 MST"
	timeStampMilli = "2006-01-02 15:04:05.000 MST"
)

// maxCell is how many characters of a summary a table's row shows;
// maxDetail of an event's text (a note is up to 4,096).
const (
	maxCell   = 200
	maxDetail = 1000
)

// maxAnswer bounds an answer the CLI reads. A page of 1,000 alerts or
// incidents whose summaries and annotations are as long as Klaxon keeps
// them is tens of megabytes.
const maxAnswer = 512 << 20

func incidents(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("klaxon incidents", flag.ContinueOnError)
	fs.SetOutput(stderr)
	synopsis(fs, "usage: klaxon incidents [--state S] [--limit N] [--before ID] [--json]")
	c := clientFlags(fs)
	state := fs.String("state", "open", "open, all, or a list of triggered, acknowledged, resolved")
	limit := fs.Int("limit", 50, "at most this many incidents, up to 1000")
	before := fs.String("before", "", "only incidents older than this ID: the next page of a list")
	asJSON := fs.Bool("json", false, "print JSON")
	if pos, err := parseFlags(fs, args); err != nil {
		return err
	} else if len(pos) > 0 {
		fmt.Fprintln(stderr, "usage: klaxon incidents [--state S] [--limit N] [--before ID] [--json]")
		return errUsage
	}
	if *limit < 1 {
		return fail(exitUsage, "--limit %d: must be at least 1", *limit)
	}
	q := url.Values{"state": {*state}, "limit": {fmt.Sprint(*limit)}}
	if *before != "" {
		q.Set("before", *before)
	}
	var list api.IncidentList
	if err := c.do(ctx, http.MethodGet, "/v1/incidents?"+q.Encode(), nil, &list); err != nil {
		return err
	}
	// The command for the next page, when there is one.
	more := ""
	if list.Next != "" {
		more = fmt.Sprintf("more: klaxon incidents --state %s --limit %d --before %s", *state, *limit, list.Next)
	}
	if *asJSON {
		if err := printJSON(stdout, list); err != nil || more == "" {
			return err
		}
		// The JSON stays whole on stdout; the cut is said beside it.
		_, err := fmt.Fprintln(stderr, more+" --json")
		return err
	}
	if len(list.Incidents) == 0 {
		fmt.Fprintln(stdout, "no incidents")
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATE\tURGENCY\tALERTS\tOPENED\tSUMMARY")
	for _, inc := range list.Incidents {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d/%d\t%s\t%s\n", inc.ID, inc.State, cmp.Or(string(inc.Urgency), "-"), inc.FiringCount, inc.AlertCount,
			inc.CreatedAt.Local().Format(timeStamp), cell(inc.Summary, maxCell))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if more != "" {
		_, err := fmt.Fprintln(stdout, more)
		return err
	}
	return nil
}

// command runs ack, resolve, escalate or snooze on one incident.
func command(ctx context.Context, name string, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("klaxon "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	c := clientFlags(fs)
	by := fs.String("by", "", "who acts, for the timeline, when the token may act for others (act_as); by default the token's name")
	if name == "snooze" {
		synopsis(fs, "usage: klaxon snooze ID DURATION [--by NAME]   (DURATION: 30m, 4h, 2d)")
	} else {
		synopsis(fs, "usage: klaxon "+name+" ID [--by NAME]")
	}
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	req := api.CommandRequest{By: *by}
	switch {
	case name == "snooze" && len(pos) == 2:
		req.Duration = pos[1]
	case name != "snooze" && len(pos) == 1:
	case name == "snooze":
		fmt.Fprintln(stderr, "usage: klaxon snooze ID DURATION [--by NAME]")
		return errUsage
	default:
		fmt.Fprintf(stderr, "usage: klaxon %s ID [--by NAME]\n", name)
		return errUsage
	}
	var inc klaxon.Incident
	if err := c.act(ctx, pos[0], name, req, &inc); err != nil {
		return err
	}
	switch name {
	case "ack":
		fmt.Fprintf(stdout, "incident %s acknowledged by %s: %s\n", inc.ID, inc.AckedBy, inc.Summary)
	case "resolve":
		fmt.Fprintf(stdout, "incident %s resolved: %s\n", inc.ID, inc.Summary)
	case "escalate":
		fmt.Fprintf(stdout, "incident %s escalated to step %d: %s\n", inc.ID, inc.Escalation.Step+1, inc.Summary)
	case "snooze":
		fmt.Fprintf(stdout, "incident %s snoozed until %s: %s\n", inc.ID, inc.SnoozedUntil.Local().Format(timeStamp), inc.Summary)
	}
	return nil
}

// work runs note, assign or merge on one incident.
func work(ctx context.Context, name string, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("klaxon "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	c := clientFlags(fs)
	by := fs.String("by", "", "who acts, for the timeline, when the token may act for others (act_as); by default the token's name")
	var update, commander *bool
	switch name {
	case "note":
		update = fs.Bool("update", false, "a status update for the incident's subscribers")
	case "assign":
		commander = fs.Bool("commander", false, "make USER the commander, not the assignee")
	}
	usage := map[string]string{
		"note":   "usage: klaxon note ID TEXT [--update] [--by NAME]",
		"assign": `usage: klaxon assign ID USER [--commander] [--by NAME] (USER "" takes the role away)`,
		"merge":  "usage: klaxon merge ID INTO [--by NAME]",
	}[name]
	synopsis(fs, usage)
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 2 {
		fmt.Fprintln(stderr, usage)
		return errUsage
	}
	req, path := api.CommandRequest{By: *by}, name
	switch name {
	case "note":
		req.Text, req.Update, path = pos[1], *update, "notes"
	case "assign":
		req.User, req.Role = pos[1], incident.RoleAssignee
		if *commander {
			req.Role = incident.RoleCommander
		}
	case "merge":
		req.Into = pos[1]
	}
	var inc klaxon.Incident
	if err := c.act(ctx, pos[0], path, req, &inc); err != nil {
		return err
	}
	switch name {
	case "note":
		fmt.Fprintf(stdout, "noted on incident %s: %s\n", inc.ID, inc.Summary)
	case "assign":
		fmt.Fprintf(stdout, "incident %s: assignee %s, commander %s\n", inc.ID, orNone(inc.Assignee), orNone(inc.Commander))
	case "merge":
		fmt.Fprintf(stdout, "incident %s merged into %s, which now holds %s: %s\n", pos[0], inc.ID, klaxon.Plural(inc.AlertCount, "alert"), inc.Summary)
	}
	return nil
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// printJSON prints v as indented JSON, for --json.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
