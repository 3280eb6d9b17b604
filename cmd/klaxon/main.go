// Command klaxon is the Klaxon paging gateway: the daemon (serve) and the
// command line that talks to it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"

	// The binary carries the IANA time zone database, so schedules and
	// users' time zones work in a minimal container with no zoneinfo.
	_ "time/tzdata"
)

// version and commit are set at build time by make build, with -ldflags
// "-X main.version=... -X main.commit=...". A plain go build leaves them
// empty, and the module's build info stands in.
var version, commit = "", ""

const usage = `usage: klaxon <command> [flags]

commands:
  serve                          run the daemon
  check                          validate the config, policies, users and schedules
  incidents                      list incidents
  incident show ID               an incident: alerts and timeline, a page at a time
  incident alerts ID             a page of its alerts, from --cursor
  incident timeline ID           a page of its timeline, from --offset
  incident export ID             the post-incident review in Markdown (--tz)
  report                         MTTA, MTTR, pages, after-hours pages, noisiest alerts (--since, --by, --json)
  ack ID                         acknowledge an incident
  resolve ID                     resolve an incident
  escalate ID                    page the next step now
  snooze ID DURATION             silence an incident, then trigger it again
  note ID TEXT                   add a note to an incident's timeline (--update: a status update)
  assign ID USER                 make USER the incident's assignee (--commander: its commander)
  merge ID INTO                  copy incident ID's alerts and timeline into INTO, and resolve ID
  oncall [SCHEDULE] [--at TIME]  who is on call
  schedule show NAME             the shifts of a schedule (--from, --to)
  override SCHEDULE USER         put USER on call (--from, --to); override list, override delete
  maintenance start|list|end      maintenance windows set at runtime: matching alerts page nobody until they end
  route test LABEL=VALUE...      where an alert goes and who it pages (--at)
  test-page USER                 send USER a test page, say what the providers answered (--via)
  version                        print the version

Run "klaxon <command> -h" for a command's flags.
`

// errUsage marks a wrong command line: exit status 2, not 1.
var errUsage = errors.New("usage")

func main() {
	err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr)
	var exit *exitError
	switch {
	case err == nil:
	case errors.Is(err, flag.ErrHelp):
	case errors.Is(err, errUsage):
		os.Exit(exitUsage)
	case errors.As(err, &exit):
		fmt.Fprintln(os.Stderr, "klaxon:", err)
		os.Exit(exit.code)
	default:
		fmt.Fprintln(os.Stderr, "klaxon:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errUsage
	}
	cmd, args := args[0], args[1:]
	switch cmd {
	case "serve":
		return serve(ctx, args, stderr)
	case "check":
		return check(args, stdout, stderr)
	case "incidents":
		return incidents(ctx, args, stdout, stderr)
	case "incident":
		return incidentCmd(ctx, args, stdout, stderr)
	case "ack", "resolve", "escalate", "snooze":
		return command(ctx, cmd, args, stdout, stderr)
	case "maintenance":
		return maintenanceCmd(ctx, args, stdout, stderr)
	case "report":
		return report(ctx, args, stdout, stderr)
	case "note", "assign", "merge":
		return work(ctx, cmd, args, stdout, stderr)
	case "test-page":
		return testPage(ctx, args, stdout, stderr)
	case "oncall":
		return oncall(ctx, args, stdout, stderr)
	case "schedule":
		return scheduleCmd(ctx, args, stdout, stderr)
	case "override":
		return override(ctx, args, stdout, stderr)
	case "route":
		return routeTest(args, stdout, stderr)
	case "version":
		if len(args) == 1 && isHelp(args[0]) {
			fmt.Fprintln(stdout, "usage: klaxon version   (the release and the commit it was built from)")
			return nil
		}
		if len(args) > 0 {
			fmt.Fprintf(stderr, "klaxon version takes no arguments, got %q\n", args[0])
			return errUsage
		}
		fmt.Fprintln(stdout, "klaxon", buildVersion())
		return nil
	case "help", "-h", "--help":
		if len(args) > 0 && args[0] != "help" && !isHelp(args[0]) {
			// "klaxon help ack" is "klaxon ack --help".
			err := run(ctx, append(args, "--help"), stdout, stdout)
			if errors.Is(err, flag.ErrHelp) {
				return nil
			}
			return err
		}
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprintf(stderr, "klaxon: unknown command %q\n\n%s", cmd, usage)
		return errUsage
	}
}

// buildVersion is the release and commit of this binary.
func buildVersion() string {
	bi, _ := debug.ReadBuildInfo()
	return versionLine(version, commit, bi)
}

// versionLine is the release and the commit Klaxon was built from:
// "v1.2.0 (commit 0a1b2c3)". What make build set wins; otherwise the
// module's version and the revision go build stamped, "(devel)" and no
// commit when there are none; "modified" when the work tree had changes.
func versionLine(version, commit string, bi *debug.BuildInfo) string {
	modified := false
	if bi != nil {
		if version == "" {
			version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch {
			case s.Key == "vcs.revision" && commit == "":
				commit = s.Value
			case s.Key == "vcs.modified":
				modified = s.Value == "true"
			}
		}
	}
	if version == "" {
		version = "(devel)"
	}
	if commit == "" {
		return version
	}
	if hash, dirty := strings.CutSuffix(commit, "-dirty"); dirty {
		commit, modified = hash, true
	}
	if len(commit) > 12 {
		commit = commit[:12]
	}
	if modified {
		commit += ", modified"
	}
	return version + " (commit " + commit + ")"
}

// synopsis makes fs's --help say how the command is written, then its
// flags: Go's "Usage of klaxon ack:" says nothing of the ID.
func synopsis(fs *flag.FlagSet, usage string) {
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "%s\n\nflags:\n", strings.TrimRight(usage, "\n"))
		fs.PrintDefaults()
	}
}

// isHelp reports whether arg asks for help.
func isHelp(arg string) bool {
	return arg == "-h" || arg == "--help" || arg == "-help"
}

// parseFlags parses flags that may come before, between or after the
// positional arguments, and returns the positional ones.
func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, errUsage
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}
