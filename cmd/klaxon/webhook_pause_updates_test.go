package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestWebhookPauseHoldsUpdates: "A Retry-After on a 429, or on a 503
// ..., pauses the URL" (README), and a subscriber's "Retry-After ... is
// waited out". A receiver that takes both the pages (notify.webhook) and
// the policy's status updates, as a chat's incoming webhook does, answers
// 429 with Retry-After: 60. The pages keep to the pause: those that come
// during it are deferred, and do not reach it. The status updates do
// not: each update is posted by a webhook made for it, with a pause of
// its own, so a storm's "opened" updates are all posted at once into the
// pause, one request each, and keep the receiver over its limit for the
// pages that come back as it ends.
func TestWebhookPauseHoldsUpdates(t *testing.T) {
	var mu sync.Mutex
	posts := map[string]int{} // by the payload's type
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var p struct {
			Type string `json:"type"`
		}
		b, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(b, &p)
		mu.Lock()
		posts[p.Type]++
		mu.Unlock()
		w.Header().Set("Retry-After", "60")
		http.Error(w, "rate_limited", http.StatusTooManyRequests)
	}))
	t.Cleanup(receiver.Close)
	hook := receiver.URL + "/hook"

	config := writeConfig(t, time.Hour)
	dir := filepath.Dir(config)
	rewrite(t, config, "notify:\n  console: {}\n", "notify:\n  console: {}\n  concurrency: 4\n  webhook: {url: \""+hook+"\"}\n")
	rewrite(t, filepath.Join(dir, "users.yaml"), "{via: sms, after: 0s}", "{via: webhook, after: 0s}")
	oncall := filepath.Join(dir, "policies", "oncall.yaml")
	b, err := os.ReadFile(oncall)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(oncall, append([]byte("subscribers: [\""+hook+"\"]\n"), b...), 0o644))

	base, served, _ := startServe(t, config)
	storm := make([]fakeAlert, 100)
	for i := range storm {
		storm[i] = fakeAlert{group: i}
	}
	a := deliver(base, amWebhook(storm))
	require.NoError(t, a.err)
	require.Equal(t, http.StatusOK, a.code, "%v", a.body)
	// The first post refused pauses the URL, a page's or an update's:
	// the updates share the pages' webhook, and its pause.
	waitFor(t, "the first post refused", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return posts["page"]+posts["update"] > 0
	})
	// Each of the storm's updates then meets the pause, and, as it
	// would wait past its 30 s, is given up: only then are the posts
	// counted, well within the pause of 60 s.
	waitFor(t, "the storm's updates given up", func() bool {
		return strings.Count(served.String(), "status update given up") >= len(storm)
	})
	mu.Lock()
	defer mu.Unlock()
	// The posts in flight as the pause began (at most notify.concurrency
	// pages), and the update refused that paused it, or the page.
	require.LessOrEqual(t, posts["page"]+posts["update"], 4+1, "posts to a URL paused for 60 s: %v", posts)
}
