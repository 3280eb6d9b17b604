package main

import (
	"runtime/debug"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestVersionLine(t *testing.T) {
	stamped := &debug.BuildInfo{Main: debug.Module{Version: "v1.2.0"}, Settings: []debug.BuildSetting{
		{Key: "vcs.revision", Value: "0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b"},
		{Key: "vcs.modified", Value: "false"},
	}}
	changed := &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
		{Key: "vcs.revision", Value: "0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b"},
		{Key: "vcs.modified", Value: "true"},
	}}
	for name, tc := range map[string]struct {
		version, commit string
		bi              *debug.BuildInfo
		want            string
	}{
		"make build":                {"v1.3.0", "9f8e7d6c5b4a", stamped, "v1.3.0 (commit 9f8e7d6c5b4a)"},
		"make build, changed tree":  {"dev", "9f8e7d6c5b4a-dirty", nil, "dev (commit 9f8e7d6c5b4a, modified)"},
		"go build, from the module": {"", "", stamped, "v1.2.0 (commit 0a1b2c3d4e5f)"},
		"go build, changed tree":    {"", "", changed, "(devel) (commit 0a1b2c3d4e5f, modified)"},
		"nothing known":             {"", "", nil, "(devel)"},
	} {
		t.Run(name, func(t *testing.T) {
			require.Equal(t, tc.want, versionLine(tc.version, tc.commit, tc.bi))
		})
	}
}
