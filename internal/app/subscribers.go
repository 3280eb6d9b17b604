package app

import (
	"sync"

	"github.com/klaxonhq/klaxon/notify"
	"github.com/klaxonhq/klaxon/notify/webhook"
)

// subscriberHooks makes the webhooks that post status updates to
// subscribers' URLs: one per URL, kept, so that a Retry-After pauses the
// URL for every update that follows, as it does for pages (see
// notify/webhook's pause), and made again when the secret changes. The
// URL of notify.webhook, when it takes Klaxon's JSON, shares the pages'
// webhook and its pause: a receiver that takes both and asks to wait
// gets neither. They are as many as the URLs that the config named since
// the start. It is safe for concurrent use.
type subscriberHooks struct {
	secret    func() string // notify.webhook.secret, as the config reads now
	publicURL string

	mu    sync.Mutex
	hooks map[string]subscriberHook // by URL
}

// subscriberHook is a URL's webhook, with the secret it signs with.
type subscriberHook struct {
	secret string
	w      *webhook.Webhook
}

// newSubscriberHooks returns the subscribers' webhooks; pages, when not
// nil, is notify.webhook's channel, posting Klaxon's JSON signed with
// secret to url.
func newSubscriberHooks(secret func() string, publicURL string, pages *webhook.Webhook, url, pagesSecret string) *subscriberHooks {
	h := &subscriberHooks{secret: secret, publicURL: publicURL, hooks: map[string]subscriberHook{}}
	if pages != nil {
		h.hooks[url] = subscriberHook{secret: pagesSecret, w: pages}
	}
	return h
}

// channel is the webhook posting updates to url.
func (h *subscriberHooks) channel(url string) (notify.Channel, error) {
	secret := h.secret()
	h.mu.Lock()
	defer h.mu.Unlock()
	if hook, ok := h.hooks[url]; ok && hook.secret == secret {
		return hook.w, nil
	}
	w, err := webhook.New(webhook.Options{URL: url, Secret: secret, Format: webhook.FormatJSON, PublicURL: h.publicURL})
	if err != nil {
		return nil, err
	}
	h.hooks[url] = subscriberHook{secret: secret, w: w}
	return w, nil
}
