package email_test

import (
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/notify/email"
)

// clock is a settable clock for email.Options.Now.
type clock struct{ at atomic.Pointer[time.Time] }

func newClock(t time.Time) *clock {
	c := &clock{}
	c.set(t)
	return c
}

func (c *clock) now() time.Time      { return *c.at.Load() }
func (c *clock) set(t time.Time)     { c.at.Store(&t) }
func (c *clock) add(d time.Duration) { c.set(c.now().Add(d)) }

// TestRelay421PausesChannel: a relay's 421 pauses the channel. The page
// goes back to the engine at once, to be tried after the pause, rather
// than three times within 300 ms; a page sent during the pause is
// deferred to its end without reaching the relay; a 421 after the pause
// doubles it; a mail the relay takes ends the doubling.
func TestRelay421PausesChannel(t *testing.T) {
	var refuse atomic.Bool
	var conns atomic.Int32
	host, port := relayAt(t, func() string {
		conns.Add(1)
		if refuse.Load() {
			return "421 4.7.0 Too many connections, try again later"
		}
		return "220 relay ready"
	})
	c := newClock(t0)
	e, _ := newEmailAt(t, host, port, email.Options{Now: c.now})

	refuse.Store(true)
	err := e.Send(t.Context(), page)
	var re interface{ Retryable() bool }
	require.ErrorAs(t, err, &re)
	require.True(t, re.Retryable(), err.Error())
	require.Equal(t, 10*time.Second, klaxon.WaitOf(err), err.Error())
	require.Equal(t, int32(1), conns.Load(), "connections to a relay that answered 421")

	c.add(time.Second)
	err = e.Send(t.Context(), page)
	var later *klaxon.DeferredError
	require.ErrorAs(t, err, &later)
	require.Equal(t, t0.Add(10*time.Second), later.Until)
	require.Equal(t, int32(1), conns.Load(), "a page sent during the pause reached the relay")

	c.add(9 * time.Second)
	err = e.Send(t.Context(), page)
	require.Equal(t, 20*time.Second, klaxon.WaitOf(err), "a 421 after the pause: %v", err)
	require.Equal(t, int32(2), conns.Load())

	c.add(20 * time.Second)
	refuse.Store(false)
	require.NoError(t, e.Send(t.Context(), page))
	require.Equal(t, int32(3), conns.Load())

	refuse.Store(true)
	err = e.Send(t.Context(), page)
	require.Equal(t, 10*time.Second, klaxon.WaitOf(err), "a 421 after a mail was taken: %v", err)
}

// TestRelay421ToSendsInFlight: the sends in flight when the relay begins
// to refuse all meet its 421; they pause the channel once, for
// pauseFirst, not once each, doubling.
func TestRelay421ToSendsInFlight(t *testing.T) {
	const inFlight = 3
	release := make(chan struct{})
	var arrived sync.WaitGroup
	arrived.Add(inFlight)
	host, port := relayAt(t, func() string {
		arrived.Done()
		<-release
		return "421 4.7.0 Too many connections, try again later"
	})
	c := newClock(t0)
	e, _ := newEmailAt(t, host, port, email.Options{Now: c.now})

	errs := make(chan error, inFlight)
	for range inFlight {
		go func() { errs <- e.Send(t.Context(), page) }()
	}
	arrived.Wait() // every send started at t0
	c.add(time.Second)
	close(release)
	for range inFlight {
		err := <-errs
		require.Equal(t, 10*time.Second, klaxon.WaitOf(err), err.Error())
	}
}

// relayAt runs a relay that greets each connection with greeting's
// line, then takes the mail; one that does not greet with 220 closes
// at once.
func relayAt(t *testing.T, greeting func() string) (string, int) {
	t.Helper()
	return rawSMTPEach(t, greeting, func(cmd string) string {
		switch {
		case strings.HasPrefix(cmd, "EHLO"), strings.HasPrefix(cmd, "HELO"):
			return "250 relay"
		case cmd == "DATA":
			return "354 go ahead"
		case cmd == "QUIT":
			return "221 bye"
		}
		return "250 ok"
	})
}
