package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon/internal/porttest"
)

// TestCLIFailures: each way a command fails at 3 a.m. ends the real
// binary with one line on stderr that says what is wrong and what to do,
// and an exit status of its own, so that a script tells "the server is
// down" from "no such incident"; never 0, a stack trace or a JSON blob.
func TestCLIFailures(t *testing.T) {
	bin := buildKlaxon(t)
	base, _, _ := startServe(t, writeConfig(t, time.Hour))
	postFixture(t, base, "firing-two-alerts.json")
	id := findIncident(t, base, "HighErrorRate").ID
	resolved := func() {
		code, out := post(t, base+"/v1/incidents/"+id+"/resolve", apiToken, "", nil)
		require.Equal(t, 200, code, out)
	}
	down := "http://" + porttest.Refused(t) // nothing listens there

	for _, c := range []struct {
		name   string
		args   []string
		before func()
		code   int
		says   []string // each in the line
	}{
		{name: "server unreachable", args: []string{"incidents", "--server", down, "--token", apiToken},
			code: 3, says: []string{"cannot reach", down, "--server", "KLAXON_SERVER", "klaxon serve"}},
		{name: "server without a scheme", args: []string{"incidents", "--server", strings.TrimPrefix(base, "http://"), "--token", apiToken},
			code: 2, says: []string{"--server", "http://"}},
		{name: "wrong token", args: []string{"incidents", "--server", base, "--token", "nope"},
			code: 4, says: []string{"401", "--token", "KLAXON_API_TOKEN"}},
		{name: "token without the scope", args: []string{"ack", id, "--server", base, "--token", readToken},
			code: 4, says: []string{"403", `lacks scope "act"`, "a token with"}},
		{name: "incident not found", args: []string{"ack", "999", "--server", base, "--token", apiToken},
			code: 5, says: []string{"404", "999", "klaxon incidents"}},
		{name: "bad snooze duration", args: []string{"snooze", id, "30x", "--server", base, "--token", apiToken},
			code: 2, says: []string{"400", "30m"}},
		{name: "acking a resolved incident", args: []string{"ack", id, "--server", base, "--token", apiToken}, before: resolved,
			code: 6, says: []string{"409", "resolved"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.before != nil {
				c.before()
			}
			cmd := exec.Command(bin, c.args...)
			cmd.Env = append(os.Environ(), "KLAXON_SERVER=", "KLAXON_API_TOKEN=")
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			var exit *exec.ExitError
			require.True(t, errors.As(err, &exit), "klaxon %q: %v, exit 0\n%s", c.args, err, stdout.String())
			msg := stderr.String()
			require.Equal(t, c.code, exit.ExitCode(), "klaxon %q: exit status\n%s", c.args, msg)
			require.Equal(t, 1, strings.Count(msg, "\n"), "one line: %q", msg)
			require.True(t, strings.HasPrefix(msg, "klaxon: "), msg)
			require.NotContains(t, msg, "goroutine")
			require.NotContains(t, msg, "{")
			for _, s := range c.says {
				require.Contains(t, msg, s)
			}
			require.Empty(t, stdout.String())
		})
	}
}

// TestCLIBadArgumentExit: an argument the CLI itself finds wrong exits 2,
// as the README says of a wrong command line, and as the same mistake
// the server finds does (incidents --limit 5000 is a 400): a script must
// not read "1, any other failure" for --limit 0 and "2" for --limit 5000.
func TestCLIBadArgumentExit(t *testing.T) {
	bin := buildKlaxon(t)
	for _, args := range [][]string{
		{"incidents", "--limit", "0"},
		{"route", "test", "service"},
	} {
		cmd := exec.Command(bin, args...)
		cmd.Env = append(os.Environ(), "KLAXON_SERVER=http://"+porttest.Refused(t), "KLAXON_API_TOKEN=")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		var exit *exec.ExitError
		require.True(t, errors.As(err, &exit), "klaxon %q: %v", args, err)
		require.Equal(t, 2, exit.ExitCode(), "klaxon %q: %s", args, stderr.String())
	}
}
