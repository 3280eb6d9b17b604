package browsertest

import (
	"bytes"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"
)

// serve serves page as HTML on a free loopback port for the test.
func serve(t *testing.T, page string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte(page))
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestClickChangesText(t *testing.T) {
	url := serve(t, `<!doctype html>
<title>click</title>
<p id="status">idle</p>
<button id="go" onclick="document.getElementById('status').textContent = 'clicked'">Go</button>`)
	ctx := New(t)

	if err := chromedp.Do(ctx, chromedp.Navigate(url), chromedp.WaitVisible(chromedp.ID("go"))); err != nil {
		t.Fatalf("open page: %v", err)
	}
	before, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("status")))
	if err != nil {
		t.Fatalf("read status: %v", err)
	}
	if before != "idle" {
		t.Fatalf("status before the click = %q, want idle", before)
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.ID("go"))); err != nil {
		t.Fatalf("click: %v", err)
	}
	after, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("status")))
	if err != nil {
		t.Fatalf("read status: %v", err)
	}
	if after != "clicked" {
		t.Fatalf("status after the click = %q, want clicked", after)
	}
}

// TestScreenshot shoots a page taller than the viewport at a phone's
// width and a desktop's; the viewport meta tag is what keeps the phone's
// layout at its width.
func TestScreenshot(t *testing.T) {
	url := serve(t, `<!doctype html>
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>tall</title>
<body style="margin:0">
<div id="top" style="height:2000px;background:linear-gradient(#c00,#00c)">top</div>
</body>`)
	ctx := New(t)
	if err := chromedp.Do(ctx, chromedp.Navigate(url), chromedp.WaitVisible(chromedp.ID("top"))); err != nil {
		t.Fatalf("open page: %v", err)
	}
	for _, tc := range []struct {
		name  string
		width int
	}{
		{"mobile", 360},
		{"desktop", 1280},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "shots", tc.name+".png")
			if err := Screenshot(ctx, tc.width, path); err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			img, err := png.Decode(bytes.NewReader(b))
			if err != nil {
				t.Fatalf("decode %s as PNG: %v", path, err)
			}
			size := img.Bounds().Size()
			t.Logf("%s: %v", tc.name, size)
			if size.X != tc.width {
				t.Errorf("width = %d, want %d", size.X, tc.width)
			}
			if size.Y != 2000 {
				t.Errorf("height = %d, want 2000, the whole page", size.Y)
			}
		})
	}
}
