package notify_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/notify"
)

type recorder struct {
	pages []klaxon.Page
	err   error
}

func (r *recorder) Send(_ context.Context, p klaxon.Page) error {
	r.pages = append(r.pages, p)
	return r.err
}

func TestDispatcher(t *testing.T) {
	sms := &recorder{}
	fallback := &recorder{}
	d := notify.NewDispatcher(map[string]notify.Channel{klaxon.ViaSMS: sms}, fallback)
	alice := klaxon.User{ID: "alice"}

	require.NoError(t, d.Notify(t.Context(), klaxon.Page{User: alice, Via: klaxon.ViaSMS}))
	require.NoError(t, d.Notify(t.Context(), klaxon.Page{User: alice, Via: klaxon.ViaVoice}))
	require.Len(t, sms.pages, 1)
	require.Len(t, fallback.pages, 1)
	require.Equal(t, klaxon.ViaVoice, fallback.pages[0].Via)

	sms.err = errors.New("provider down")
	err := d.Notify(t.Context(), klaxon.Page{User: alice, Via: klaxon.ViaSMS})
	require.EqualError(t, err, "page alice by sms: provider down")
}

func TestConsole(t *testing.T) {
	var buf bytes.Buffer
	c := notify.NewConsole(slog.New(slog.NewTextHandler(&buf, nil)))
	require.NoError(t, c.Send(t.Context(), klaxon.Page{Incident: "42", User: klaxon.User{ID: "alice"}, Via: klaxon.ViaSMS, Text: "#42 disk full"}))
	line := buf.String()
	for _, want := range []string{"msg=page", "component=notify", "incident=42", "user=alice", "channel=console", "via=sms", `text="#42 disk full"`} {
		require.Contains(t, line, want)
	}
}
