package escalate_test

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/escalate"
)

// gates holds each user's pages until their gate opens; users without
// a gate are paged at once.
type gates struct {
	phone
	mu   sync.Mutex
	open map[string]chan struct{}
}

func (g *gates) Notify(ctx context.Context, pg klaxon.Page) error {
	g.mu.Lock()
	gate := g.open[pg.User.ID]
	g.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return g.phone.Notify(ctx, pg)
}

// TestPutOffPageWritesBeforeItStarts: a page put off (its channel busy)
// that comes due again while its incident's email is still in flight is
// sent with nothing committed just before it; on a store that then takes
// no write (a full disk), it must not start, as it could not be put on
// record. It went out at once when its channel had come free. And the
// fire, whose commits then fail with a page in flight and one due, does
// not try them again in a loop with no wait: it did, hundreds of
// thousands of times in a fake instant.
func TestPutOffPageWritesBeforeItStarts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		db := openStore(t)
		fs := &fullStore{Store: db}
		dir := directory{
			"mail": {ID: "mail", Notify: []klaxon.NotifyRule{{Via: klaxon.ViaEmail}}},
			"sms1": {ID: "sms1", Notify: []klaxon.NotifyRule{{Via: klaxon.ViaSMS}}},
			"sms2": {ID: "sms2", Notify: []klaxon.NotifyRule{{Via: klaxon.ViaSMS}}},
		}
		g := &gates{open: map[string]chan struct{}{"mail": make(chan struct{}), "sms1": make(chan struct{})}}
		e, stop := startEngine(t, fs, g, dir, escalate.Options{PerChannel: 1})
		openIncident(t, db, oneStep("sms1"), time.Now()) // its SMS holds the one SMS slot
		e.Wake()
		time.Sleep(time.Second)
		synctest.Wait()
		openIncident(t, db, oneStep("mail", "sms2"), time.Now()) // its email hangs; its SMS is put off
		e.Wake()
		time.Sleep(5*time.Second + 500*time.Millisecond)
		synctest.Wait()
		require.Empty(t, g.got(), "nothing went out yet")

		fs.full.Store(true)   // the disk fills after the put-off was committed
		close(g.open["sms1"]) // and the SMS slot comes free
		before := fs.commits.Load()
		time.Sleep(3 * time.Second)
		synctest.Wait()
		require.Equal(t, []string{"sms1/sms"}, g.got(), "sms2's SMS did not start: it could not be put on record")
		require.Less(t, fs.commits.Load()-before, int64(20), "commits tried in 3 s on a store that does not write: a fire with a page in flight does not spin")

		fs.full.Store(false)
		close(g.open["mail"])
		time.Sleep(time.Minute)
		synctest.Wait()
		require.NoError(t, stop())
		require.ElementsMatch(t, []string{"sms1/sms", "sms2/sms", "mail/email"}, g.got(), "each page once")
	})
}
