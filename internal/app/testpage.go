package app

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/api"
	"github.com/klaxonhq/klaxon/notify"
)

// testPager sends test pages through the channels pages go by, without
// the throttle: a test is one page, asked for.
type testPager struct {
	dispatch *notify.Dispatcher
	users    func(id string) (klaxon.User, bool)
}

var _ api.Tester = testPager{}

// testPageTimeout bounds one test page, a provider's retries included.
const testPageTimeout = 30 * time.Second

// providers name who answers for each contact method.
var providers = map[string]string{
	klaxon.ViaSMS: "Twilio", klaxon.ViaVoice: "Twilio", klaxon.ViaEmail: "the SMTP server", klaxon.ViaWebhook: "the webhook's receiver",
	klaxon.ViaSlack: "Slack",
}

func (t testPager) TestPage(ctx context.Context, id, via string) ([]api.TestResult, error) {
	u, ok := t.users(id)
	if !ok {
		return nil, fmt.Errorf("test page: no user %q: %w", id, klaxon.ErrNotFound)
	}
	var vias []string
	switch {
	case via == "":
		for _, r := range u.Notify {
			if !slices.Contains(vias, r.Via) {
				vias = append(vias, r.Via)
			}
		}
	case providers[via] == "":
		return nil, klaxon.Invalid("via", "unknown %q: want sms, voice, email, webhook or slack", via)
	default:
		vias = []string{via}
	}
	out := make([]api.TestResult, 0, len(vias))
	for _, v := range vias {
		res := api.TestResult{Via: v, Channel: t.dispatch.Carrier(v)}
		pctx, cancel := context.WithTimeout(ctx, testPageTimeout)
		err := t.dispatch.Notify(pctx, klaxon.Page{User: u, Via: v, Summary: "Klaxon test page", Text: klaxon.TestText(v), Test: true})
		cancel()
		var later *klaxon.DeferredError
		switch {
		case errors.As(err, &later):
			res.Answer = fmt.Sprintf("held back: %s is pacing pages to %s; try again after %s", providers[v], id, later.Until.UTC().Format(time.RFC3339))
		case err != nil:
			res.Answer = err.Error()
		case res.Channel != v || v == klaxon.ViaConsole:
			res.Answer = v + " is not configured: the console stood in, and nobody was reached"
			if v == klaxon.ViaConsole {
				res.Answer = "the user has no phone, mail or webhook rule: the console took it, and nobody was reached"
			}
		default:
			res.Sent, res.Answer = true, "accepted by "+providers[v]
		}
		out = append(out, res)
	}
	return out, nil
}
