package notify_test

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/notify"
)

// refusingMail refuses the mails to bob, for good, and sends the rest.
type refusingMail struct{}

func (refusingMail) Send(_ context.Context, p klaxon.Page) error {
	if p.User.ID == "bob" {
		return errors.New("550 mailbox unavailable")
	}
	return nil
}

// TestStatusUpdatesCounted: status updates that fail were only logged:
// an operator whose relay refused every subscriber's mail saw nothing
// on /metrics. They are counted by result.
func TestStatusUpdatesCounted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		users := func(id string) (klaxon.User, bool) { return klaxon.User{ID: id, Email: id + "@example.com"}, true }
		u := notify.NewUpdates(refusingMail{}, nil, users, slog.New(slog.DiscardHandler))
		reg := prometheus.NewRegistry()
		require.NoError(t, u.Register(reg))
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() { done <- u.Run(ctx) }()
		u.Committed([]*klaxon.Incident{{ID: "7", Summary: "db down",
			Policy:   klaxon.Policy{Subscribers: []string{klaxon.TargetUser + ":alice", klaxon.TargetUser + ":bob"}},
			Recorded: []klaxon.Event{{Kind: klaxon.EventTriggered, Alert: "am/1"}}}})
		time.Sleep(time.Minute)
		synctest.Wait()
		cancel()
		require.NoError(t, <-done)
		count, err := testutil.GatherAndCount(reg, "klaxon_status_updates_total")
		require.NoError(t, err)
		require.Equal(t, 3, count, "sent, failed and dropped, each from the start")
		for result, want := range map[string]float64{"sent": 1, "failed": 1, "dropped": 0} {
			families, err := reg.Gather()
			require.NoError(t, err)
			got := -1.0
			for _, f := range families {
				for _, m := range f.GetMetric() {
					if f.GetName() == "klaxon_status_updates_total" && m.GetLabel()[0].GetValue() == result {
						got = m.GetCounter().GetValue()
					}
				}
			}
			require.Equal(t, want, got, result)
		}
	})
}
