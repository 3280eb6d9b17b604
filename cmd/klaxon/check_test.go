package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestCheck(t *testing.T) {
	t.Run("the example config is valid", func(t *testing.T) {
		var out, errOut bytes.Buffer
		err := run(t.Context(), []string{"check", "--config", filepath.Join("..", "..", "examples", "klaxon.yaml")}, &out, &errOut)
		require.NoError(t, err, errOut.String())
		require.Contains(t, out.String(), "klaxon.yaml: ok (4 integrations, 2 policies, 3 users)")
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
