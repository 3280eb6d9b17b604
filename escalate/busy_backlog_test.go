package escalate_test

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon/escalate"
)

// TestSlowChannelBacklogHoldsNoOtherChannel: a storm's backlog of pages
// by one channel, whose every slot a provider that does not answer
// holds, does not hold up a page by another channel: "a storm of SMS
// behind a slow Twilio holds up no email or call of another incident"
// (README). An SMS that waited for the slot took one of the incidents
// the engine pages for at once for 5 s (slotWait), and they were claimed
// one after another before the email's incident, due after them: with
// eight of them the email waited 40 s, with a storm's two thousand
// behind a hung webhook (32 slots, 256 incidents) about 40 s as well,
// for as long as the receiver hung. A page that waits for its channel
// now leaves its incident's room to others, and one that finds as many
// waiting does not wait.
func TestSlowChannelBacklogHoldsNoOtherChannel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		open, s, stop := busyChannel(t, escalate.Options{Incidents: 2, PerChannel: 1})
		open("sms1")
		<-s.entered // holds the one SMS slot: the provider does not answer
		for i := 2; i <= 9; i++ {
			open("sms" + string(rune('0'+i))) // the storm's backlog
		}
		time.Sleep(time.Second)
		synctest.Wait()

		open("mail")
		time.Sleep(10 * time.Second) // the bound TestSlowChannelHoldsNoOtherChannel holds
		synctest.Wait()
		require.Equal(t, []string{"mail/email"}, s.got(), "the email waited behind the SMS backlog")
		stop()
	})
}

// TestSlowChannelBacklogTurnedAway: behind a channel whose every slot a
// provider that does not answer holds, as many pages wait for a slot as
// the channel has; the rest of the backlog is put off at once, and the
// engine gives their incidents' claims up, for another replica, whose
// channel may be free, to take. Once the provider answers, each page
// goes out, once.
func TestSlowChannelBacklogTurnedAway(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		reg := prometheus.NewRegistry()
		open, s, stop := busyChannel(t, escalate.Options{Incidents: 2, PerChannel: 1, Metrics: reg})
		open("sms1")
		<-s.entered // holds the one SMS slot
		for i := 2; i <= 9; i++ {
			open("sms" + string(rune('0'+i)))
		}
		time.Sleep(time.Second)
		synctest.Wait()
		require.Equal(t, 2.0, gauge(t, reg, "klaxon_engine_claims_held"), "sms1's page in flight and one that waits")

		s.free()
		time.Sleep(time.Minute)
		synctest.Wait()
		stop()
		var want []string
		for i := 1; i <= 9; i++ {
			want = append(want, "sms"+string(rune('0'+i))+"/sms")
		}
		require.ElementsMatch(t, want, s.got(), "every page once")
	})
}

// gauge returns the value of the gauge name gathered from reg.
func gauge(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	families, err := reg.Gather()
	require.NoError(t, err)
	for _, f := range families {
		if f.GetName() == name {
			return f.GetMetric()[0].GetGauge().GetValue()
		}
	}
	t.Fatalf("no gauge %s", name)
	return 0
}

// TestWaitForChannelMakesRoom: a page that begins to wait for its
// channel makes room among the incidents the engine pages for at once,
// and the engine, which had none when it last looked, takes the next
// incident due then, not once the page gives up or the next poll.
func TestWaitForChannelMakesRoom(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st, open, s, stop := busyStore(t, escalate.Options{Incidents: 2, PerChannel: 1, Poll: time.Hour})
		open("sms1")
		<-s.entered // holds the one SMS slot, and one of the two incidents
		openIncident(t, st, oneStep("sms2"), time.Now().Add(-time.Second))
		openIncident(t, st, oneStep("mail"), time.Now())
		open("sms3") // wakes the engine: it has room for sms2's incident alone
		time.Sleep(time.Second)
		synctest.Wait()
		require.Equal(t, []string{"mail/email"}, s.got(), "the email went out while sms2's SMS waited")
		stop()
	})
}

// TestClaimsRoomGauged: an operator sees that the engine has no room for
// another incident (klaxon_engine_claims_room at 0): timers that fall
// due then wait, and their pages are late, which the lateness histogram
// says only once they are claimed. The room comes back as fires end.
func TestClaimsRoomGauged(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		reg := prometheus.NewRegistry()
		open, s, stop := busyChannel(t, escalate.Options{Incidents: 1, PerChannel: 2, Metrics: reg})
		time.Sleep(time.Second)
		synctest.Wait()
		require.Equal(t, 1.0, gauge(t, reg, "klaxon_engine_claims_room"), "idle")
		open("sms1")
		<-s.entered // its page hangs, holding the one incident's room
		open("sms2")
		time.Sleep(time.Second)
		synctest.Wait()
		require.Equal(t, 0.0, gauge(t, reg, "klaxon_engine_claims_room"), "sms2 waits for room")
		s.free()
		time.Sleep(time.Minute)
		synctest.Wait()
		require.Equal(t, 1.0, gauge(t, reg, "klaxon_engine_claims_room"))
		require.ElementsMatch(t, []string{"sms1/sms", "sms2/sms"}, s.got())
		stop()
	})
}
