// Package notify delivers pages to people through channels: SMS, voice,
// email, webhooks, and the console, which stands in for every channel that
// is not configured.
package notify

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/klaxonhq/klaxon"
)

// Channel delivers a page by one contact method.
type Channel interface {
	Send(ctx context.Context, p klaxon.Page) error
}

// Dispatcher sends each page through the channel for its contact method,
// or through the fallback when that method has no channel configured.
type Dispatcher struct {
	channels map[string]Channel
	fallback Channel
}

// NewDispatcher returns a dispatcher over channels keyed by contact method
// (klaxon.ViaSMS, ...); fallback takes every other page.
func NewDispatcher(channels map[string]Channel, fallback Channel) *Dispatcher {
	return &Dispatcher{channels: channels, fallback: fallback}
}

// Carrier names the channel that carries pages of contact method via:
// via itself when it is configured, else the console, which stands in.
func (d *Dispatcher) Carrier(via string) string {
	if _, ok := d.channels[via]; ok {
		return via
	}
	return klaxon.ViaConsole
}

// Send sends p, as Notify: the dispatcher is a Channel of every method.
func (d *Dispatcher) Send(ctx context.Context, p klaxon.Page) error { return d.Notify(ctx, p) }

// Notify sends p.
func (d *Dispatcher) Notify(ctx context.Context, p klaxon.Page) error {
	ch, ok := d.channels[p.Via]
	if !ok {
		ch = d.fallback
	}
	if err := ch.Send(ctx, p); err != nil {
		return fmt.Errorf("page %s by %s: %w", p.User.ID, p.Via, err)
	}
	return nil
}

// Console writes every page to the log: one line per page with the
// incident, the user, the channel and the text.
type Console struct {
	log *slog.Logger
}

var _ Channel = (*Console)(nil)

// NewConsole returns a console channel logging to log.
func NewConsole(log *slog.Logger) *Console {
	return &Console{log: log.With("component", "notify")}
}

// Send logs p. The console carries pages of every channel it stands in
// for: the line says it carried the page, and by which channel the page
// was meant to go.
func (c *Console) Send(ctx context.Context, p klaxon.Page) error {
	c.log.InfoContext(ctx, "page", "incident", p.Incident, "user", p.User.ID, "channel", "console", "via", p.Via, "text", p.Text)
	return nil
}
