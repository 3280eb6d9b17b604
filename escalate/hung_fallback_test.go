package escalate_test

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/escalate"
)

// hungVoice is a provider whose calls never answer until the page's try
// is cut off (a webhook receiver that hangs), and whose SMS go out at
// once; it notes when each incident's SMS went out.
type hungVoice struct {
	mu  sync.Mutex
	sms map[string]time.Time // by incident
}

func (h *hungVoice) Notify(ctx context.Context, pg klaxon.Page) error {
	if pg.Via == klaxon.ViaVoice {
		<-ctx.Done()
		return ctx.Err()
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.sms[pg.Incident]; !ok {
		h.sms[pg.Incident] = time.Now()
	}
	return nil
}

func (h *hungVoice) smsAt(id string) (time.Time, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	at, ok := h.sms[id]
	return at, ok
}

// TestHungChannelBacklogPagesFallback: a last step without
// escalate_after "does not wait ... for a page that keeps failing (a
// provider down, a webhook receiver that answers 5xx or hangs). Once
// every page left of a walk that reached nobody has failed every try for
// 5 minutes, the walk ends and pages the fallback" (README). Behind a
// receiver that hangs, a storm's pages take the channel's slots a page
// timeout each: the backlog's pages are put off busy, again and again,
// and a page put off is no try, so it never "failed" (failingFor needs
// a first try). An incident whose page waits its turn behind the others
// pages its fallback 5 minutes after its first try, its place in the
// backlog later: here ten incidents behind one slot (as 320 behind the
// default 32) page their fallbacks from 6 to 15 minutes after the
// storm, one a page timeout after the other; 2,000 behind 32 slots, over
// an hour.
func TestHungChannelBacklogPagesFallback(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := openStore(t)
		dana := klaxon.User{ID: "dana", Phone: "+15550100004", Notify: []klaxon.NotifyRule{{Via: klaxon.ViaVoice}}}
		carol := klaxon.User{ID: "carol", Phone: "+15550100003", Notify: []klaxon.NotifyRule{{Via: klaxon.ViaSMS}}}
		dir := withFallback{directory{"dana": dana, "carol": carol}}
		h := &hungVoice{sms: map[string]time.Time{}}
		e := escalate.New(st, h, func() escalate.Directory { return dir }, slog.New(slog.DiscardHandler),
			escalate.Options{Poll: time.Second, PerChannel: 1})
		stop := runEngine(t, e)

		start := time.Now()
		var ids []string
		for range 10 {
			ids = append(ids, openIncident(t, st, danaPolicy(0), start))
		}
		e.Wake()
		time.Sleep(10 * time.Minute)
		synctest.Wait()

		var late []string
		for _, id := range ids {
			if at, ok := h.smsAt(id); !ok {
				late = append(late, id+": not yet")
			} else if at.Sub(start) > 8*time.Minute {
				late = append(late, id+": after "+at.Sub(start).String())
			}
		}
		require.NoError(t, stop())
		require.Empty(t, late, "incidents whose only page hung or waited behind the others for 10 minutes, their fallback not paged within 8")
	})
}

// hungDana is a receiver that hangs on dana's pages until their try is
// cut off, and takes the others.
type hungDana struct{ *phone }

func (h hungDana) Notify(ctx context.Context, pg klaxon.Page) error {
	if pg.User.ID == "dana" {
		<-ctx.Done()
		return ctx.Err()
	}
	return h.phone.Notify(ctx, pg)
}

// TestFallbackOnTime: "Once every page left of a walk that reached
// nobody has failed every try for 5 minutes, the walk ends and pages the
// fallback" (README), at the 5 minutes, not at the next try's end:
//   - a provider down: with the default backoff dana's page is tried at 0,
//     10, 30, 70, 150, 270 and 390 s; were the walk to look only as a try
//     ends, the fallback would go at 6.5 minutes;
//   - a receiver that hangs: dana's first try is cut off at the page
//     timeout (1 minute), and the try in flight at 6 minutes ends at 6.5:
//     the walk wakes while that try is still in flight.
func TestFallbackOnTime(t *testing.T) {
	for _, tc := range []struct {
		name  string
		via   func(*phone) escalate.Notifier
		after time.Duration
		why   string
	}{
		{"a provider down", func(ph *phone) escalate.Notifier { return providerDown{ph} }, 5*time.Minute + 30*time.Second,
			"dana's page failed every try for 5 minutes, and the fallback was not paged in the 30 s after"},
		{"a receiver that hangs", func(ph *phone) escalate.Notifier { return hungDana{ph} }, 6*time.Minute + 15*time.Second,
			"dana's page failed every try for 5 minutes from the first, which ended at 1, and the fallback was not paged at 6"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ph := &phone{}
				st, e := danaOrCarol(t, tc.via(ph), nil)
				openIncident(t, st, danaPolicy(0), time.Now())
				e.Wake()
				time.Sleep(tc.after)
				synctest.Wait()
				require.Equal(t, []string{"carol/sms"}, ph.got(), tc.why)
			})
		})
	}
}
