package amtest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// binPaths are the programs Start runs.
type binPaths struct {
	alertmanager, amtool string
}

// installMu serialises installs within one test binary.
var installMu sync.Mutex

// binaries finds alertmanager and amtool on PATH or in the Go bin
// directory, installing them with go install when either is missing.
func binaries(t testing.TB) binPaths {
	t.Helper()
	installMu.Lock()
	defer installMu.Unlock()
	dir := goBinDir(t)
	am, amOK := find("alertmanager", dir)
	tool, toolOK := find("amtool", dir)
	if amOK && toolOK {
		return binPaths{alertmanager: am, amtool: tool}
	}
	for _, cmd := range []string{"alertmanager", "amtool"} {
		pkg := "github.com/prometheus/alertmanager/cmd/" + cmd + "@" + Version
		t.Logf("amtest: %s not found on PATH or in %s; installing %s", cmd, dir, pkg)
		install := exec.Command(goTool(t), "install", pkg)
		install.Dir = t.TempDir() // outside any module
		if out, err := install.CombinedOutput(); err != nil {
			t.Fatalf("amtest needs alertmanager and amtool: go install %s: %v\n%s", pkg, err, out)
		}
	}
	am, amOK = find("alertmanager", dir)
	tool, toolOK = find("amtool", dir)
	if !amOK || !toolOK {
		t.Fatalf("amtest: alertmanager or amtool still not in %s after go install", dir)
	}
	return binPaths{alertmanager: am, amtool: tool}
}

// find returns the path of the program name on PATH or in dir.
func find(name, dir string) (string, bool) {
	if p, err := exec.LookPath(name); err == nil {
		return p, true
	}
	p := filepath.Join(dir, name)
	if info, err := os.Stat(p); err == nil && !info.IsDir() {
		return p, true
	}
	return "", false
}

// goBinDir is where go install puts programs: $GOBIN, else the first
// $GOPATH entry's bin.
func goBinDir(t testing.TB) string {
	t.Helper()
	out, err := exec.Command(goTool(t), "env", "GOBIN", "GOPATH").Output()
	if err != nil {
		t.Fatalf("amtest: go env GOBIN GOPATH: %v", err)
	}
	lines := strings.Split(string(out), "\n") // GOBIN, then GOPATH
	if len(lines) < 2 {
		t.Fatalf("amtest: go env GOBIN GOPATH printed %q", out)
	}
	if gobin := strings.TrimSpace(lines[0]); gobin != "" {
		return gobin
	}
	gopath := filepath.SplitList(strings.TrimSpace(lines[1]))
	if len(gopath) == 0 {
		t.Fatalf("amtest: GOPATH is empty")
	}
	return filepath.Join(gopath[0], "bin")
}

// goTool is the go command.
func goTool(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("amtest needs the go command to find or install alertmanager: %v", err)
	}
	return p
}

// Binary returns the path of "alertmanager" or "amtool", installing them
// when missing.
func Binary(t testing.TB, name string) string {
	t.Helper()
	bins := binaries(t)
	switch name {
	case "alertmanager":
		return bins.alertmanager
	case "amtool":
		return bins.amtool
	}
	t.Fatalf("amtest: no program %q", name)
	return ""
}
