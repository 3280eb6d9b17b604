package main

import (
	"bytes"
	"errors"
	"flag"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestCommandHelp: "klaxon CMD --help" is asked for, not a mistake: it
// succeeds (exit 0), and says the command's arguments, not only its
// flags, and only flags the command takes. "klaxon help CMD" is the same.
func TestCommandHelp(t *testing.T) {
	for _, c := range []struct {
		args     []string
		says     string
		saysNot  string
		exitZero bool
	}{
		{args: []string{"ack", "--help"}, says: "klaxon ack ID"},
		{args: []string{"snooze", "-h"}, says: "klaxon snooze ID DURATION"},
		{args: []string{"merge", "--help"}, says: "klaxon merge ID INTO"},
		{args: []string{"note", "--help"}, says: "klaxon note ID TEXT"},
		{args: []string{"oncall", "--help"}, says: "klaxon oncall [SCHEDULE]"},
		{args: []string{"test-page", "--help"}, says: "klaxon test-page USER"},
		{args: []string{"incident", "show", "--help"}, says: "klaxon incident show ID", saysNot: "-cursor"},
		{args: []string{"incident", "alerts", "--help"}, says: "-cursor", saysNot: "-offset"},
		{args: []string{"incident", "--help"}, says: "klaxon incident show ID"},
		{args: []string{"maintenance", "--help"}, says: "klaxon maintenance start"},
		{args: []string{"help", "ack"}, says: "klaxon ack ID"},
	} {
		var out, errOut bytes.Buffer
		err := run(t.Context(), c.args, &out, &errOut)
		require.True(t, err == nil || errors.Is(err, flag.ErrHelp), "klaxon %q: %v (exit status 2, as for a mistake)", c.args, err)
		text := out.String() + errOut.String()
		require.Contains(t, text, c.says, "klaxon %q", c.args)
		if c.saysNot != "" {
			require.NotContains(t, text, c.saysNot, "klaxon %q", c.args)
		}
	}

	// A mistake still is one: exit status 2, naming it.
	for _, c := range []struct {
		args  []string
		names string
	}{
		{[]string{"ack", "--nope", "1"}, "-nope"},
		{[]string{"incident", "nope", "1"}, `"nope"`},
		{[]string{"maintenance", "nope"}, `"nope"`},
		{[]string{"nope"}, `"nope"`},
		{[]string{"version", "extra"}, "extra"},
	} {
		var out, errOut bytes.Buffer
		err := run(t.Context(), c.args, &out, &errOut)
		require.ErrorIs(t, err, errUsage, "klaxon %q", c.args)
		require.Contains(t, errOut.String(), c.names, "klaxon %q names what is wrong", c.args)
	}
}

// TestHelpOfVersionAndMaintenance: "klaxon help version" and "klaxon
// version --help" are asked for, as for any command, not a mistake; and
// "klaxon maintenance list --help" and "end --help" say only the flags
// list and end take, not start's, which they would take and ignore.
func TestHelpOfVersionAndMaintenance(t *testing.T) {
	for _, args := range [][]string{{"help", "version"}, {"version", "--help"}} {
		var out, errOut bytes.Buffer
		err := run(t.Context(), args, &out, &errOut)
		require.True(t, err == nil || errors.Is(err, flag.ErrHelp), "klaxon %q: %v\n%s", args, err, errOut.String())
		require.Contains(t, out.String()+errOut.String(), "klaxon version", "klaxon %q", args)
	}
	for _, sub := range []string{"list", "end"} {
		var out, errOut bytes.Buffer
		err := run(t.Context(), []string{"maintenance", sub, "--help"}, &out, &errOut)
		require.True(t, err == nil || errors.Is(err, flag.ErrHelp), "%v", err)
		text := out.String() + errOut.String()
		for _, f := range []string{"-matchers", "-for", "-comment"} {
			require.NotContains(t, text, f, "klaxon maintenance %s --help", sub)
		}
	}
	// And list takes none of them.
	var out, errOut bytes.Buffer
	require.ErrorIs(t, run(t.Context(), []string{"maintenance", "list", "--for", "2h"}, &out, &errOut), errUsage)
}
