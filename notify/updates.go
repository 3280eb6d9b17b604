package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/klaxonhq/klaxon"
)

// Status updates go to an incident's subscribers (its policy's
// Subscribers) as it opens, is acknowledged, gets a status update and
// resolves: by email to a user, by webhook to a URL. They are not pages:
// nobody is asked to act, they are sent once, best effort, after the
// commit that made the change, and a crash in between loses them.

// updateQueue bounds the changes waiting to be sorted out, and
// subscriberBytes the updates waiting for one subscriber, by their
// text; past either they are dropped and logged, so that a slow
// subscriber never holds up a commit, nor another subscriber, nor takes
// memory without bound. A storm's commits land in an instant: a
// subscriber that keeps up takes thousands of updates at once (some
// 2,000 bytes each, less where the summary is short).
const (
	updateQueue     = 4096
	subscriberBytes = 16 << 20
)

// Updates sends the status updates of the incidents that commits change,
// each subscriber's in order, in a goroutine of its own.
type Updates struct {
	mail    Channel                           // nil: users get no update
	webhook func(url string) (Channel, error) // the channel posting to url (one per URL, so that its pause holds)
	users   func(id string) (klaxon.User, bool)
	log     *slog.Logger
	queue   chan update
	timeout time.Duration
	// results counts the updates by what became of them: sent, failed
	// (given up), dropped (a queue full, Klaxon stopping).
	results               *prometheus.CounterVec
	sent, failed, dropped prometheus.Counter // its series
	// mu guards stopped, set as Run stops: a commit that lands later (a
	// fire in flight as Klaxon stops) queues nothing, its updates
	// counted as dropped.
	mu      sync.Mutex
	stopped bool
}

// update is one status update of an incident, with what its message
// says of the incident: not its header, which a queue of thousands
// would keep.
type update struct {
	id, summary, severity string
	opened                time.Time // the incident's CreatedAt
	firing                int
	subscribers           []string
	kind, text            string
}

// size is about the memory up takes in a subscriber's queue.
func (up update) size() int { return 128 + len(up.summary) + len(up.text) }

// NewUpdates returns the sender of status updates: mail takes those to
// users (nil: none), webhook makes the channel of a subscriber's URL.
func NewUpdates(mail Channel, webhook func(url string) (Channel, error), users func(id string) (klaxon.User, bool), log *slog.Logger) *Updates {
	results := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "klaxon_status_updates_total",
		Help: "Status updates to subscribers, by result: sent, failed (given up), dropped (too many waiting, or Klaxon stopping).",
	}, []string{"result"})
	return &Updates{mail: mail, webhook: webhook, users: users, log: log.With("component", "updates"),
		queue: make(chan update, updateQueue), timeout: 30 * time.Second, results: results,
		sent: results.WithLabelValues("sent"), failed: results.WithLabelValues("failed"), dropped: results.WithLabelValues("dropped")}
}

// Register registers the counts of the updates with reg.
func (u *Updates) Register(reg prometheus.Registerer) error { return reg.Register(u.results) }

// Committed takes the incidents a commit wrote, with the events it
// recorded, and queues the updates they call for. It never blocks.
func (u *Updates) Committed(incs []*klaxon.Incident) {
	for _, inc := range incs {
		if len(inc.Policy.Subscribers) == 0 {
			continue
		}
		for _, e := range inc.Recorded {
			kind, text := updateOf(inc, e)
			if kind == "" {
				continue
			}
			up := update{id: inc.ID, opened: inc.CreatedAt, summary: inc.Summary, severity: inc.Severity, firing: inc.FiringCount,
				subscribers: inc.Policy.Subscribers, kind: kind, text: text}
			u.mu.Lock()
			if u.stopped {
				u.dropped.Add(float64(len(up.subscribers)))
				u.log.Warn("status update not sent: Klaxon is stopping", "incident", inc.ID, "update", kind)
				u.mu.Unlock()
				continue
			}
			select {
			case u.queue <- up:
			default:
				u.dropped.Add(float64(len(up.subscribers)))
				u.log.Warn("status update dropped: too many waiting", "incident", inc.ID, "update", kind)
			}
			u.mu.Unlock()
		}
	}
}

// updateOf says what update event e of inc calls for, "" for none.
func updateOf(inc *klaxon.Incident, e klaxon.Event) (kind, text string) {
	if e.From != "" {
		return "", "" // another incident's, copied by a merge
	}
	who := func() string {
		if e.By == "" {
			return ""
		}
		return " by " + e.By
	}
	switch e.Kind {
	case klaxon.EventTriggered:
		if e.Alert == "" {
			return "", "" // a walk begun again, not a new incident
		}
		return "opened", fmt.Sprintf("Incident #%s opened: %s", inc.ID, inc.Summary)
	case klaxon.EventAcknowledged:
		if e.Again() {
			return "", "" // its ack_timeout restarted: they heard of the first
		}
		return "acknowledged", fmt.Sprintf("Incident #%s acknowledged%s: %s", inc.ID, who(), inc.Summary)
	case klaxon.EventSnoozed:
		// A snooze acknowledges, until it ends (then the incident
		// triggers again, and pages).
		return "acknowledged", fmt.Sprintf("Incident #%s acknowledged%s, snoozed %s: %s", inc.ID, who(), e.Text, inc.Summary)
	case klaxon.EventStatusUpdate:
		return "update", fmt.Sprintf("Update on incident #%s%s: %s", inc.ID, who(), e.Text)
	case klaxon.EventResolved:
		return "resolved", fmt.Sprintf("Incident #%s resolved%s: %s", inc.ID, who(), inc.Summary)
	}
	return "", ""
}

// Run hands the queued updates to each subscriber's goroutine until ctx
// ends, then waits for those goroutines. The updates left then, and
// those of commits that land later, are counted as dropped.
func (u *Updates) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	subscribers := map[string]*subscriberQueue{}
	for {
		select {
		case <-ctx.Done():
			u.mu.Lock()
			u.stopped = true
			n := 0
		drain:
			for {
				select {
				case up := <-u.queue:
					n++
					u.dropped.Add(float64(len(up.subscribers)))
				default:
					break drain
				}
			}
			u.mu.Unlock()
			if n > 0 {
				u.log.Warn("status updates not sent: Klaxon is stopping", "updates", n)
			}
			wg.Wait()
			// A subscriber's goroutine may have ended before the last
			// updates handed to it (the select above took one from the
			// queue though ctx had ended).
			for sub, q := range subscribers {
				u.unsent(sub, len(q.take()))
			}
			return nil
		case up := <-u.queue:
			for _, sub := range up.subscribers {
				q, ok := subscribers[sub]
				if !ok {
					q = &subscriberQueue{wake: make(chan struct{}, 1)}
					subscribers[sub] = q
					wg.Go(func() { u.serve(ctx, sub, q) })
				}
				if !q.push(up) {
					u.dropped.Inc()
					u.log.Warn("status update dropped: the subscriber is slow", "incident", up.id, "update", up.kind)
				}
			}
		}
	}
}

// subscriberQueue holds the updates waiting for one subscriber, in
// order, up to subscriberBytes of them.
type subscriberQueue struct {
	mu    sync.Mutex
	ups   []update
	bytes int
	wake  chan struct{}
}

// push queues up, and reports false when the queue is full.
func (q *subscriberQueue) push(up update) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.bytes+up.size() > subscriberBytes {
		return false
	}
	q.ups = append(q.ups, up)
	q.bytes += up.size()
	select {
	case q.wake <- struct{}{}:
	default:
	}
	return true
}

// take returns the updates queued, and empties the queue. They count
// against its bound until done says each was sent.
func (q *subscriberQueue) take() []update {
	q.mu.Lock()
	defer q.mu.Unlock()
	ups := q.ups
	q.ups = nil
	return ups
}

// done frees the room of an update taken, once it was sent.
func (q *subscriberQueue) done(up update) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.bytes -= up.size()
}

// serve sends sub's updates, in order, until ctx ends; those left then
// are logged, not sent.
func (u *Updates) serve(ctx context.Context, sub string, q *subscriberQueue) {
	for {
		select {
		case <-ctx.Done():
			u.unsent(sub, len(q.take()))
			return
		case <-q.wake:
			ups := q.take()
			for i, up := range ups {
				if ctx.Err() != nil {
					u.unsent(sub, len(ups)-i+len(q.take()))
					return
				}
				u.send(ctx, sub, up)
				q.done(up)
			}
		}
	}
}

// unsent logs the n updates of sub that Klaxon stops before it sends.
func (u *Updates) unsent(sub string, n int) {
	if n == 0 {
		return
	}
	u.dropped.Add(float64(n))
	if !strings.HasPrefix(sub, klaxon.TargetUser+":") {
		sub = "a webhook" // not the URL, which may hold a secret
	}
	u.log.Warn("status updates not sent: Klaxon is stopping", "subscriber", sub, "updates", n)
}

// send sends one update to subscriber sub.
func (u *Updates) send(ctx context.Context, sub string, up update) {
	p := klaxon.Page{Incident: up.id, Opened: up.opened, Summary: up.summary, Severity: up.severity, Alerts: up.firing, Text: up.text, Update: up.kind}
	var ch Channel
	if id, ok := strings.CutPrefix(sub, klaxon.TargetUser+":"); ok {
		if u.mail == nil {
			return
		}
		user, known := u.users(id)
		if !known {
			// Removed from the users file since the incident opened,
			// as a page to one is.
			u.failed.Inc()
			u.log.Warn("status update: unknown user, removed from the users file since the incident opened", "incident", up.id, "update", up.kind, "user", id)
			return
		}
		p.User, p.Via, ch = user, klaxon.ViaEmail, u.mail
	} else {
		var err error
		if ch, err = u.webhook(sub); err != nil {
			u.failed.Inc()
			u.log.Warn("status update", "incident", up.id, "err", err)
			return
		}
		// Not the URL, which may hold a secret: errors name the user.
		p.User, p.Via = klaxon.User{ID: "subscriber"}, klaxon.ViaWebhook
	}
	sctx, cancel := context.WithTimeout(ctx, u.timeout)
	defer cancel()
	for {
		err := ch.Send(sctx, p)
		if err == nil {
			u.sent.Inc()
			return
		}
		// A channel waits out a short Retry-After itself and returns a
		// longer one (notify.Retry), for its caller to wait: nothing
		// else tries an update again, so wait here, within the timeout.
		// So too for a channel that holds its sends back a while (mail
		// paused by its relay's 421).
		wait, retry := klaxon.WaitOf(err), Retryable(err)
		var later *klaxon.DeferredError
		if errors.As(err, &later) {
			wait, retry = max(time.Until(later.Until), time.Millisecond), true
		}
		if wait == 0 || !retry {
			u.failed.Inc()
			u.log.Warn("status update", "incident", up.id, "update", up.kind, "err", err)
			return
		}
		if deadline, _ := sctx.Deadline(); time.Until(deadline) < wait {
			u.failed.Inc()
			u.log.Warn("status update given up: the subscriber asks to wait past its timeout",
				"incident", up.id, "update", up.kind, "wait", wait, "timeout", u.timeout, "err", err)
			return
		}
		timer := time.NewTimer(wait)
		select {
		case <-sctx.Done():
			timer.Stop()
			u.failed.Inc()
			u.log.Warn("status update", "incident", up.id, "update", up.kind, "err", fmt.Errorf("%w, after %w", sctx.Err(), err))
			return
		case <-timer.C:
		}
	}
}
