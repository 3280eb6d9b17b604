// Package browsertest runs a real headless Chromium for tests, driven
// over the DevTools protocol by github.com/chromedp/chromedp, and takes
// screenshots of what it shows at a given width.
//
// The browser is Debian's chromium, which `make test` installs when
// missing; a test that needs it fails, never skips, when it is not there.
// KLAXON_CHROMIUM names another binary.
package browsertest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/klaxonhq/klaxon/internal/syncbuf"
)

// timeout bounds everything a test does with the browser New starts.
const timeout = 60 * time.Second

// execNames are the programs New looks for on PATH, in order, when
// KLAXON_CHROMIUM is not set.
var execNames = []string{"chromium", "chromium-browser", "google-chrome"}

// New starts a headless Chromium with a fresh profile for t and returns
// the context to run chromedp actions in, in one tab. The browser lives
// at most 60 s: past that it is stopped and every action fails, so a
// hung browser fails the test instead of hanging it. t.Cleanup closes the
// browser and waits for it to exit; Chromium's output is shown only if
// the test failed. opts are more of the browser's flags, such as
// chromedp.Flag("host-resolver-rules", ...) to reach a loopback server
// by another name.
func New(t testing.TB, opts ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	path := execPath(t)
	// Before the cleanup below, so that the profile is removed after the
	// browser exited.
	profile := t.TempDir()
	out := new(syncbuf.Buffer)

	timeoutCtx, cancelTimeout := context.WithTimeout(context.Background(), timeout)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(timeoutCtx, append([]chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox, // tests run as root, where the sandbox cannot
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(profile),
		chromedp.CombinedOutput(out),
	}, opts...)...)
	ctx, cancel := chromedp.NewContext(allocCtx,
		chromedp.WithLogf(t.Logf),
		chromedp.WithErrorf(t.Logf),
	)
	stop := func() {
		// Close the browser gracefully so that it stops its child
		// processes itself, then cancel: that kills what is left and
		// waits for the process.
		closeCtx, cancelClose := context.WithTimeout(ctx, 10*time.Second)
		err := chromedp.Cancel(closeCtx)
		cancelClose()
		cancel()
		cancelAlloc()
		cancelTimeout()
		if err != nil && timeoutCtx.Err() == nil {
			t.Errorf("browsertest: close %s: %v", path, err)
		}
		if t.Failed() {
			t.Logf("browsertest: %s output:\n%s", path, out.String())
		}
	}
	// Start the browser now, so that a browser that cannot start fails
	// here and not in the test's first action.
	if err := chromedp.Do(ctx); err != nil {
		stop()
		t.Fatalf("browsertest: start %s: %v\n%s", path, err, out.String())
	}
	t.Cleanup(stop)
	return ctx
}

// execPath returns the browser to run: $KLAXON_CHROMIUM, else the first
// of execNames on PATH.
func execPath(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("KLAXON_CHROMIUM"); p != "" {
		found, err := exec.LookPath(p)
		if err != nil {
			t.Fatalf("browsertest: KLAXON_CHROMIUM=%s: %v", p, err)
		}
		return found
	}
	for _, name := range execNames {
		if found, err := exec.LookPath(name); err == nil {
			return found
		}
	}
	t.Fatalf("browsertest: none of %v on PATH: install Debian's chromium (`make deps`, or `apt-get install -y chromium`), or set KLAXON_CHROMIUM", execNames)
	return ""
}

// viewportHeight is the height of the viewport Screenshot sets; the
// screenshot itself is as tall as the page.
const viewportHeight = 800

// mobileBelow is the width under which Screenshot emulates a phone.
const mobileBelow = 600

// Screenshot sets the viewport of ctx's tab to width×800 CSS pixels at a
// device scale factor of 1, emulating a mobile device when width is under
// 600, and writes a PNG of the whole page to path, creating its
// directory. The viewport stays as set. As on a phone, a page without
// <meta name="viewport" content="width=device-width"> is laid out, and
// shot, 980 pixels wide under 600.
func Screenshot(ctx context.Context, width int, path string) error {
	var opts []chromedp.EmulateViewportOption
	if width < mobileBelow {
		opts = append(opts, chromedp.EmulateMobile)
	}
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(int64(width), viewportHeight, opts...)); err != nil {
		return fmt.Errorf("set viewport %dx%d: %w", width, viewportHeight, err)
	}
	// Quality 100 is what makes FullScreenshot a PNG; below it is a JPEG.
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		return fmt.Errorf("screenshot at width %d: %w", width, err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("write screenshot: %w", err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		return fmt.Errorf("write screenshot: %w", err)
	}
	return nil
}
