package slack

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/klaxonhq/klaxon"
)

// Asking whether the pages holding a gate's times are still wanted. A
// page withdrawn (its incident acknowledged) does not come for its
// time, which passes unused; but the times after it stay given, and a
// new page would wait behind them all. So a new page that would wait
// behind times given asks first (Options.Wanted) about the pages holding
// them, once the gate shows that some may be withdrawn: a time passed
// missGrace ago without its page coming, since they were last asked;
// or, during Slack's pause, no page came at all for a while. Those not
// wanted give their times up, and new pages take the first free ones.
// In conversations.open's gate, a person's time is given up when none
// of the pages waiting for it is wanted.
//
// An ask reads the store once a page: askers at a time, the first time
// first, and for at most a fifth (1/askShare) of a Send's timeout, since
// pages wait for it; the pages not asked about by then keep their
// times. A gate asks at most once every quiet (2 s), and a time that
// passed counts once; an ask that gave no time up doubles quiet (up to
// slotGrace): a queue draining late, its pages all still wanted, is not
// read again at every new page.

// missGrace is how late a page may come for its time before the time
// counts as one its page may have been withdrawn from.
const missGrace = 2 * dmSpacing

// askers is how many pages an ask reads at once.
const askers = 4

// askShare is how many asks would take a Send's whole timeout: an ask
// takes at most its askShare-th part.
const askShare = 5

// held is a page holding a time of a gate; in conversations.open's,
// one of the pages waiting for user's time.
type held struct {
	page klaxon.PageRef
	at   time.Time
	user string
}

// ask is the question whether the pages holding a gate's times are
// still to be sent. The page that raised it (mine) asks and answers
// withdraw; the others wait for done.
type ask struct {
	pages []held
	mine  bool
	done  chan struct{}
}

// stalled reports whether the pages holding the gate's times may have
// been withdrawn, and were not asked about for quiet: a time passed
// missGrace ago with its page not come, since they were last asked;
// or, during the pause, no page at all came since came.
func (g *gate) stalled(now, came time.Time) bool {
	if now.Sub(g.asked) < g.quiet {
		return false
	}
	if now.Before(g.until) {
		return now.Sub(came) >= g.quiet
	}
	for _, at := range g.slots {
		if missed := at.Add(missGrace); !missed.After(now) && missed.After(g.asked) {
			return true
		}
	}
	return false
}

// held returns the pages holding the gate's times, the first first.
func (g *gate) held() []held {
	var out []held
	for h, at := range g.slots {
		if h.user == "" {
			out = append(out, held{page: h.page, at: at})
			continue
		}
		for p := range g.waits[h.user] {
			out = append(out, held{page: p, at: at, user: h.user})
		}
	}
	slices.SortFunc(out, func(a, b held) int { return a.at.Compare(b.at) })
	return out
}

// withdraw answers a, the ask of gate key: the pages gone are not to be
// sent, and give up their times; in conversations.open's gate, a user's
// time is given up once every page waiting for it is gone.
func (d *directs) withdraw(key string, a *ask, gone []held) {
	d.mu.Lock()
	defer d.mu.Unlock()
	defer close(a.done)
	g := d.gates[key]
	if g == nil || g.asking != a.done {
		return
	}
	g.asking = nil
	dropped := 0
	left := map[string]int{} // by user: the pages waiting for their time, not gone
	for _, p := range gone {
		slot := holder{page: p.page, user: p.user}.slot()
		at, ok := g.slots[slot]
		switch {
		case !ok || !at.Equal(p.at):
		case p.user == "":
			g.drop(slot)
			dropped++
		case g.waits[p.user][p.page]:
			if _, seen := left[p.user]; !seen {
				left[p.user] = len(g.waits[p.user])
			}
			left[p.user]--
		}
	}
	for user, n := range left {
		if n == 0 {
			g.drop(holder{user: user})
			dropped++
		}
	}
	if dropped == 0 {
		g.quiet = min(2*g.quiet, slotGrace)
		return
	}
	g.quiet, g.holes, g.tail = 2*dmSpacing, true, time.Time{}
	for _, at := range g.slots {
		g.tail = latest(g.tail, at.Add(dmSpacing))
	}
}

// unwanted returns the pages of pages that are no longer to be sent:
// those Options.Wanted says are not (without it, all of them). It asks
// askers at a time, the first first; the pages not asked about before
// ctx ends, or within askShare of the timeout, are kept. Once a page
// waiting for a user's open is wanted, their others are not asked about.
func (s *Slack) unwanted(ctx context.Context, pages []held) []held {
	if s.wanted == nil {
		return pages
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout/askShare)
	defer cancel()
	var (
		mu     sync.Mutex
		next   int
		gone   = make([]bool, len(pages))
		wanted = map[string]bool{} // the users a page waits for that is wanted
	)
	// claim returns the next page to ask about.
	claim := func() (int, bool) {
		mu.Lock()
		defer mu.Unlock()
		for ; next < len(pages) && ctx.Err() == nil; next++ {
			if u := pages[next].user; u == "" || !wanted[u] {
				next++
				return next - 1, true
			}
		}
		return 0, false
	}
	var wg sync.WaitGroup
	for range min(askers, len(pages)) {
		wg.Go(func() {
			for {
				i, ok := claim()
				if !ok {
					return
				}
				yes := s.wanted(ctx, pages[i].page)
				mu.Lock()
				gone[i] = !yes && ctx.Err() == nil // an answer as the ask ends is in doubt
				if yes && pages[i].user != "" {
					wanted[pages[i].user] = true
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	var out []held
	for i, p := range pages {
		if gone[i] {
			out = append(out, p)
		}
	}
	return out
}
