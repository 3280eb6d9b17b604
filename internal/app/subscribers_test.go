package app

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon/notify/webhook"
)

// TestSubscriberHooksKeptPerURL: a subscriber's URL keeps one webhook,
// and its pause, for every update; a new secret makes it again; the
// pages' URL shares the pages' webhook.
func TestSubscriberHooksKeptPerURL(t *testing.T) {
	const status, chat = "https://status.example.com/hooks/klaxon", "https://chat.example.com/hooks/klaxon"
	pages, err := webhook.New(webhook.Options{URL: chat, Secret: "s1"})
	require.NoError(t, err)
	secret := "s1"
	h := newSubscriberHooks(func() string { return secret }, "", pages, chat, "s1")

	a, err := h.channel(status)
	require.NoError(t, err)
	b, err := h.channel(status)
	require.NoError(t, err)
	require.Same(t, a, b, "one webhook per URL")
	c, err := h.channel(chat)
	require.NoError(t, err)
	require.Same(t, pages, c, "the pages' URL")

	secret = "s2"
	d, err := h.channel(status)
	require.NoError(t, err)
	require.NotSame(t, a, d, "made again with the new secret")
	e, err := h.channel(chat)
	require.NoError(t, err)
	require.NotSame(t, pages, e, "made again with the new secret")

	_, err = h.channel("ftp://status.example.com")
	require.Error(t, err)
}
