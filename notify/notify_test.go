package notify_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"testing/synctest"
	"time"

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
	d := notify.NewDispatcher(map[string]notify.Channel{klaxon.ViaSMS: sms}, fallback, 1)
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
	for _, want := range []string{"msg=page", "component=notify", "incident=42", "user=alice", "channel=sms", `text="#42 disk full"`} {
		require.Contains(t, line, want)
	}
}

// slow is a channel whose sends wait until released.
type slow struct {
	mu      sync.Mutex
	started []string
	release chan struct{}
}

func (s *slow) Send(ctx context.Context, p klaxon.Page) error {
	s.mu.Lock()
	s.started = append(s.started, p.User.ID)
	s.mu.Unlock()
	select {
	case <-s.release:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *slow) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.started)
}

// TestDispatcherBounds checks that a channel sends at most its bound of
// pages at once, that the others wait, and that another channel does not
// wait for them.
func TestDispatcherBounds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sms := &slow{release: make(chan struct{})}
		email := &slow{release: make(chan struct{})}
		d := notify.NewDispatcher(map[string]notify.Channel{klaxon.ViaSMS: sms, klaxon.ViaEmail: email}, &recorder{}, 2)
		errs := make(chan error, 10)
		for _, u := range []string{"a", "b", "c"} {
			go func() { errs <- d.Notify(t.Context(), klaxon.Page{User: klaxon.User{ID: u}, Via: klaxon.ViaSMS}) }()
		}
		synctest.Wait()
		require.Equal(t, 2, sms.count(), "two SMS at once; the third waits")

		go func() { errs <- d.Notify(t.Context(), klaxon.Page{User: klaxon.User{ID: "d"}, Via: klaxon.ViaEmail}) }()
		synctest.Wait()
		require.Equal(t, 1, email.count(), "a slow SMS provider holds up no mail")

		sms.release <- struct{}{}
		synctest.Wait()
		require.Equal(t, 3, sms.count(), "the third SMS takes the free slot")
		require.NoError(t, <-errs)

		// A page whose context ends while it waits gives up.
		ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
		defer cancel()
		go func() { errs <- d.Notify(ctx, klaxon.Page{User: klaxon.User{ID: "e"}, Via: klaxon.ViaSMS}) }()
		time.Sleep(time.Minute) // fake time: the waiting page's context ends
		synctest.Wait()
		require.ErrorIs(t, <-errs, context.DeadlineExceeded)
		require.Equal(t, 3, sms.count(), "it never went out")

		sms.release <- struct{}{}
		sms.release <- struct{}{}
		email.release <- struct{}{}
		for range 3 {
			require.NoError(t, <-errs)
		}
	})
}
