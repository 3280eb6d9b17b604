package escalate_test

import (
	"context"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/escalate"
	"github.com/klaxonhq/klaxon/store/embedded"
)

// smsDownSlowCall fails every SMS to be tried again; its first call
// hangs until release, then fails in a way that the provider may have
// placed it all the same.
type smsDownSlowCall struct {
	sms, calls atomic.Int64
	release    chan struct{}
}

func (p *smsDownSlowCall) Notify(_ context.Context, pg klaxon.Page) error {
	if pg.Via == klaxon.ViaSMS {
		p.sms.Add(1)
		return providerError{retryable: true}
	}
	if p.calls.Add(1) == 1 {
		<-p.release
		return providerError{retryable: true}
	}
	return nil
}

// TestMaybePlacedCallOutrunsEarlierRule: dana is paged by SMS at once
// and called after a minute. Her SMS keeps failing, to be tried again;
// her call's creation times out though it was placed, and she answers
// it before the try ends (its report beats the try's failure). The call
// went out and reached her, as one whose creation went through: the SMS
// of her earlier rule is not tried again (dropOutrun), which would page
// her once more.
func TestMaybePlacedCallOutrunsEarlierRule(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ph := &smsDownSlowCall{release: make(chan struct{})}
		release := sync.OnceFunc(func() { close(ph.release) })
		defer release()
		st, err := embedded.Open(filepath.Join(t.TempDir(), "k.db"))
		require.NoError(t, err)
		dana := klaxon.User{ID: "dana", Phone: "+15550100004", Notify: []klaxon.NotifyRule{{Via: klaxon.ViaSMS}, {Via: klaxon.ViaVoice, After: time.Minute}}}
		carol := klaxon.User{ID: "carol", Phone: "+15550100003", Notify: []klaxon.NotifyRule{{Via: klaxon.ViaEmail}}}
		dir := withFallback{directory{"dana": dana, "carol": carol}}
		e := escalate.New(st, ph, func() escalate.Directory { return dir }, slog.New(slog.DiscardHandler), escalate.Options{Poll: time.Second})
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- e.Run(ctx) }()
		t.Cleanup(func() {
			release()
			cancel()
			require.NoError(t, <-done)
			require.NoError(t, st.Close())
		})
		id := openIncident(t, st, danaPolicy(0), time.Now())
		e.Wake()
		time.Sleep(time.Minute + 5*time.Second)
		synctest.Wait()
		require.EqualValues(t, 1, ph.calls.Load())
		inc, err := st.Incident(t.Context(), id)
		require.NoError(t, err)
		call := -1
		for _, n := range inc.Pending {
			if n.Via == klaxon.ViaVoice {
				call = n.ID
			}
		}
		require.Positive(t, call, "%+v", inc.Pending)
		require.NoError(t, e.Delivery(t.Context(), id, call, true, "completed"))
		time.Sleep(5 * time.Second)
		release()
		time.Sleep(time.Second)
		synctest.Wait()
		smsAtCall := ph.sms.Load()

		time.Sleep(20 * time.Minute)
		synctest.Wait()
		require.Equal(t, smsAtCall, ph.sms.Load(), "dana's call reached her, and her SMS was tried again")
	})
}
