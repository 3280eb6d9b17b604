package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite the want sections of testdata/check/*.txtar")

func TestCheck(t *testing.T) {
	t.Run("the example config is valid", func(t *testing.T) {
		var out, errOut bytes.Buffer
		err := run(t.Context(), []string{"check", "--config", filepath.Join("..", "..", "examples", "klaxon.yaml")}, &out, &errOut)
		require.NoError(t, err, errOut.String())
		require.Contains(t, out.String(), "klaxon.yaml: ok (4 integrations, 2 policies, 5 users, 2 schedules)")
	})

	t.Run("a file named without --config is refused, not another checked", func(t *testing.T) {
		t.Setenv("KLAXON_CONFIG", filepath.Join("..", "..", "examples", "klaxon.yaml"))
		broken := filepath.Join(t.TempDir(), "klaxon.yaml")
		require.NoError(t, os.WriteFile(broken, []byte("lisen: nope\n"), 0o644))
		for _, cmd := range []string{"check", "serve"} {
			var out, errOut bytes.Buffer
			err := run(t.Context(), []string{cmd, broken}, &out, &errOut)
			require.ErrorIs(t, err, errUsage, cmd)
			require.Contains(t, errOut.String(), "--config FILE", cmd)
			require.Empty(t, out.String(), cmd)
		}
	})

	t.Run("every error named with its file and key path", func(t *testing.T) {
		config := writeConfig(t, time.Minute)
		dir := filepath.Dir(config)
		edit := func(name, old, new string) {
			p := filepath.Join(dir, name)
			b, err := os.ReadFile(p)
			require.NoError(t, err)
			require.Contains(t, string(b), old)
			require.NoError(t, os.WriteFile(p, []byte(strings.Replace(string(b), old, new, 1)), 0o644))
		}
		edit("klaxon.yaml", "listen:", "lisen: x\nlisten:")
		edit("klaxon.yaml", "token: "+ddToken, "token: \"\"")
		edit("policies/oncall.yaml", "user:bob", "user:zed")
		edit("policies/oncall.yaml", "escalate_after: 1m0s\n  - targets", "escalate_after: 5 minutes\n  - targets")

		var out, errOut bytes.Buffer
		err := run(t.Context(), []string{"check", "--config", config}, &out, &errOut)
		require.Error(t, err)
		msgs := errOut.String()
		for _, want := range []string{
			config + ": lisen: unknown key",
			config + ": integrations[1].token: ",
			filepath.Join(dir, "policies", "oncall.yaml") + ": steps[1].targets[0]: unknown user \"zed\"",
			filepath.Join(dir, "policies", "oncall.yaml") + ": steps[0].escalate_after: ",
		} {
			require.Contains(t, msgs, want)
		}
		require.Equal(t, 4, strings.Count(msgs, "\n"), "one line per error:\n%s", msgs)
		require.ErrorContains(t, err, "4 error(s)")
	})
}

// TestCheckGolden runs `klaxon check` on each testdata/check/*.txtar: a
// comment, then files separated by "-- name --" lines. The files are a
// config tree (klaxon.yaml and the files it names); "args" holds flags
// added to `check --config DIR/klaxon.yaml --at 2026-11-23T00:00:00Z`, one
// a line; "want" is what the command writes to stderr and stdout, then its
// exit status and the error main prints, with DIR written $DIR. Run with
// -update to rewrite the want sections.
func TestCheckGolden(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join("testdata", "check", "*.txtar"))
	require.NoError(t, err)
	require.NotEmpty(t, paths)
	for _, path := range paths {
		t.Run(strings.TrimSuffix(filepath.Base(path), ".txtar"), func(t *testing.T) {
			b, err := os.ReadFile(path)
			require.NoError(t, err)
			comment, files := parseArchive(string(b))
			dir := t.TempDir()
			args := []string{"check", "--config", filepath.Join(dir, "klaxon.yaml"), "--at", "2026-11-23T00:00:00Z"}
			var want string
			for _, f := range files {
				switch f.name {
				case "want":
					want = f.data
				case "args":
					args = append(args, strings.Fields(f.data)...)
				default:
					p := filepath.Join(dir, filepath.FromSlash(f.name))
					require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
					require.NoError(t, os.WriteFile(p, []byte(f.data), 0o644))
				}
			}

			var out, errOut bytes.Buffer
			err = run(t.Context(), args, &out, &errOut)
			var got strings.Builder
			if errOut.Len() > 0 {
				fmt.Fprintf(&got, "[stderr]\n%s", errOut.String())
			}
			if out.Len() > 0 {
				fmt.Fprintf(&got, "[stdout]\n%s", out.String())
			}
			switch {
			case err == nil:
				got.WriteString("[exit 0]\n")
			case errors.Is(err, errUsage):
				got.WriteString("[exit 2]\n")
			default:
				fmt.Fprintf(&got, "[exit 1] klaxon: %v\n", err)
			}
			gotText := strings.ReplaceAll(got.String(), dir, "$DIR")

			if *update {
				var b strings.Builder
				b.WriteString(comment)
				for _, f := range files {
					if f.name != "want" {
						fmt.Fprintf(&b, "-- %s --\n%s", f.name, f.data)
					}
				}
				fmt.Fprintf(&b, "-- want --\n%s", gotText)
				require.NoError(t, os.WriteFile(path, []byte(b.String()), 0o644))
				return
			}
			require.Equal(t, want, gotText)
		})
	}
}

// archiveFile is one file of a test archive.
type archiveFile struct {
	name, data string
}

// parseArchive splits a test archive into its leading comment and its
// files, each introduced by a "-- name --" line.
func parseArchive(s string) (comment string, files []archiveFile) {
	cur := &comment
	for line := range strings.Lines(s) {
		text := strings.TrimRight(line, "\n")
		if name, ok := strings.CutPrefix(text, "-- "); ok && strings.HasSuffix(name, " --") {
			files = append(files, archiveFile{name: strings.TrimSpace(strings.TrimSuffix(name, " --"))})
			cur = &files[len(files)-1].data
			continue
		}
		*cur += line
	}
	return comment, files
}
