package web_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/browsertest"
)

// TestTimelineTimesToTheSecond: an incident's timeline is the record of
// who did what when; the page sent, the ack 42 s later. Written to the
// minute, the timeline shows both at 15:00 and the order of a minute's
// events is lost; on the reader's own clock it showed "10:00 AM" and no
// zone, so a screenshot passed on in chat says not which clock it is.
// The timeline's times carry their seconds, on the server's UTC and on
// the reader's clock, which names its zone.
func TestTimelineTimesToTheSecond(t *testing.T) {
	r := newRig(t)
	id := r.Open(t, "db")
	r.Clock.Add(5 * time.Second)
	_, err := r.Engine.Note(t.Context(), id, "looking", false, klaxon.Actor{By: "alice", How: "web"})
	require.NoError(t, err)
	r.Clock.Add(42 * time.Second)
	_, err = r.Engine.Act(t.Context(), klaxon.ActionAck, id, klaxon.Actor{By: "bob", How: "sms"})
	require.NoError(t, err)

	t.Run("without JavaScript", func(t *testing.T) {
		_, body, _ := r.signedIn(t, readToken).get("/incidents/" + id)
		for _, want := range []string{
			`<time datetime="2026-11-23T15:00:05Z">2026-11-23 15:00:05 UTC</time> <span class="what">note by alice`,
			`<time datetime="2026-11-23T15:00:47Z">2026-11-23 15:00:47 UTC</time> <span class="what">acknowledged by bob`,
		} {
			require.True(t, strings.Contains(body, want), "the timeline has %s", want)
		}
	})
	t.Run("on the reader's clock", func(t *testing.T) {
		ctx := browsertest.New(t)
		require.NoError(t, chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			_, err := cdp.Call(ctx, t, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{TimezoneID: "America/New_York"})
			return err
		})))
		require.Equal(t, http.StatusOK, open(t, ctx, r.srv.URL+"/incidents/"+id))
		require.NoError(t, chromedp.Do(ctx, chromedp.SendKeys(chromedp.ID("token"), readToken)))
		require.Equal(t, http.StatusOK, submit(t, ctx, chromedp.CSS("form button[type=submit]")))
		timeline := text(t, ctx, ".timeline")
		require.Contains(t, timeline, "10:00:05")
		require.Contains(t, timeline, "10:00:47")
		require.Contains(t, timeline, "EST")
	})
}
