package escalate

import (
	"fmt"
	"time"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/incident"
)

// Backoff is how long the engine waits before trying a page again after
// a try failed on an error that may pass (a provider's 5xx, a timeout),
// and before looking up who is on call again after a lookup failed: First
// after the first failure, doubling after each next one, at most Max.
type Backoff struct {
	First, Max time.Duration
}

// after is the wait after the n-th failure in a row (n ≥ 1).
func (b Backoff) after(n int) time.Duration {
	d := b.First
	for i := 1; i < n && d < b.Max; i++ {
		d *= 2
	}
	return min(d, b.Max)
}

// tries counts the tries of notification id of inc that failed.
func tries(inc *klaxon.Incident, id int) int {
	if s := inc.FindSent(id); s != nil {
		return s.Tries
	}
	return 0
}

// howRetry marks a failed try that is to be tried again, to tell it from
// a provider's report that a page sent did not reach its person.
const howRetry = klaxon.HowRetry

// dropRetries gives up the pending notifications of inc that failed a
// try and wait for the next, for why, and records that it did. One its
// channel held back since its last failed try (Notification.Deferred)
// waits for the time its channel gave, not for a try: it is no retry,
// and stays, as one held back at its first try does.
func dropRetries(inc *klaxon.Incident, now time.Time, why string) {
	incident.GiveUpRetries(inc, now, why, func(n klaxon.Notification) bool { return !n.Deferred })
}

// dropOutrun gives up retrying a person's page once a page to them that
// was due after its first try went out: their next notification rule
// reached them. A rule due at the same time, like a mail sent alongside
// the SMS, does not count. One its channel holds back (Deferred) is no
// retry, and stays (see dropRetries).
func dropOutrun(inc *klaxon.Incident, now time.Time, results []result) {
	for _, r := range results {
		if r.event == nil || r.event.Kind != klaxon.EventPageSent {
			continue
		}
		incident.GiveUpRetries(inc, now, fmt.Sprintf("a later page by %s went out", r.n.Via), func(n klaxon.Notification) bool {
			first, ok := firstTry(inc, n.ID)
			return ok && !n.Deferred && n.User == r.n.User && n.ID != r.n.ID && r.n.Due.After(first)
		})
	}
}

// firstTry is when notification id of inc was first tried and failed.
func firstTry(inc *klaxon.Incident, id int) (time.Time, bool) {
	if s := inc.FindSent(id); s != nil && s.Tries > 0 {
		return s.FirstTry, true
	}
	return time.Time{}, false
}
