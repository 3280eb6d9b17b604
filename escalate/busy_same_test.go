package escalate_test

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/escalate"
	"github.com/klaxonhq/klaxon/store/embedded"
)

// TestPutOffBehindHungPageInSameIncident: one incident pages two users
// by SMS; the first SMS hangs past the page timeout holding the only SMS
// slot, and the second is put off (busy) again and again. The claim
// lapses all the same, and a healthy replica takes the incident over.
// Each put-off page's new try extended the claim by the page timeout,
// so it never lapsed.
func TestPutOffBehindHungPageInSameIncident(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st, err := embedded.Open(filepath.Join(t.TempDir(), "k.db"))
		require.NoError(t, err)
		t.Cleanup(func() { _ = st.Close() })
		dir := directory{
			"sms1": {ID: "sms1", Notify: []klaxon.NotifyRule{{Via: klaxon.ViaSMS}}},
			"sms2": {ID: "sms2", Notify: []klaxon.NotifyRule{{Via: klaxon.ViaSMS}}},
		}
		var engines []*escalate.Engine
		run := func(n escalate.Notifier, o escalate.Options) {
			e := escalate.New(st, n, func() escalate.Directory { return dir }, slog.New(slog.DiscardHandler), o)
			ctx, cancel := context.WithCancel(t.Context())
			done := make(chan error)
			go func() { done <- e.Run(ctx) }()
			t.Cleanup(func() { cancel(); <-done })
			engines = append(engines, e)
		}
		hung := &hungSMS{entered: make(chan string, 4), release: make(chan struct{})}
		run(hung, escalate.Options{PerChannel: 1, PageTimeout: time.Minute})
		t.Cleanup(func() { close(hung.release) }) // runs before the engines stop
		p := klaxon.Policy{Name: "two", Steps: []klaxon.Step{{Targets: []klaxon.Target{
			{Kind: klaxon.TargetUser, Name: "sms1"}, {Kind: klaxon.TargetUser, Name: "sms2"}}, EscalateAfter: time.Hour}}}
		openIncident(t, st, p, time.Now())
		engines[0].Wake()
		<-hung.entered // one SMS hangs, holding the one SMS slot
		time.Sleep(time.Second)
		synctest.Wait()

		healthy := &phone{}
		run(healthy, escalate.Options{})
		time.Sleep(30 * time.Minute)
		synctest.Wait()
		require.NotEmpty(t, healthy.got(), "30 min on, a healthy replica has paged: the hung one gave the incident up")
	})
}
