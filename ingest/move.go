package ingest

import (
	"context"
	"strings"
	"time"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/incident"
)

// An alert moves when its group changes while it fires: a route changed,
// or its labels. Its next report joins or opens an incident of the new
// group, and the commit that indexes it there says which group had it
// (klaxon.Commit.Moved). The incident it left would hold it firing for
// good, since its resolve now goes to the new group: so the sender whose
// delivery moved it resolves it there too, as moved, before it is
// answered, and that incident resolves once none of its alerts fires.

// moved is an alert that a commit took from group From into incident to.
type moved struct {
	klaxon.Move
	to string
}

// movesOf returns what c, once landed, took from other groups.
func movesOf(c *klaxon.Commit) []moved {
	if c == nil || c.Moved == nil {
		return nil
	}
	return movesTo(*c.Moved, c.Open)
}

// movesTo returns ms, each alert once, as moves into incident to.
func movesTo(ms []klaxon.Move, to string) []moved {
	if len(ms) == 0 {
		return nil
	}
	out := make([]moved, 0, len(ms))
	seen := make(map[string]bool, len(ms))
	for _, m := range ms {
		if !seen[m.Alert] {
			seen[m.Alert] = true
			out = append(out, moved{Move: m, to: to})
		}
	}
	return out
}

// answer gives each of ds its outcome, with what the commit moved of its
// alerts: each move to the first delivery that holds the alert.
func answer(ds []*delivery, opened bool, err error, moves []moved) {
	var of map[string]moved
	if len(moves) > 0 {
		of = make(map[string]moved, len(moves))
		for _, m := range moves {
			of[m.Alert] = m
		}
	}
	for _, d := range ds {
		o := outcome{opened: opened, err: err}
		for i := 0; len(of) > 0 && i < len(d.alerts); i++ {
			if m, ok := of[d.alerts[i].Key]; ok {
				o.moved = append(o.moved, m)
				delete(of, m.Alert)
			}
		}
		d.done <- o
	}
}

// move resolves each alert of moves in the group it left, as moved to its
// new incident: one delivery a group, committed as any other, and waited
// for. Then it settles the moves it made, which the store kept owed. The
// sender's alerts are committed already, so a move that fails is
// logged, not the sender's error: it stays owed, and Run makes it later.
// late marks moves that Run makes, whose sender did not.
// It reports whether it settled every move of moves.
func (p *Pipeline) move(ctx context.Context, moves []moved, late bool) (settled bool) {
	ctx = context.WithoutCancel(ctx)
	// A commit of moves may take deliveries of senders too, and moves
	// that one of those made come back here: a few rounds at most.
	for round := 0; len(moves) > 0 && round < maxMoveRounds; round++ {
		var all bool
		moves, all = p.moveOnce(ctx, moves, late && round == 0)
		settled = settled || round == 0 && all
	}
	return settled
}

// maxMoveRounds bounds the rounds of move.
const maxMoveRounds = 4

// moveOnce is a round of move: it returns the moves that its commits
// made in turn, and whether it settled every move of moves.
func (p *Pipeline) moveOnce(ctx context.Context, moves []moved, late bool) (more []moved, settled bool) {
	byGroup := map[string]*delivery{}
	var ds []*delivery
	made := make(map[*delivery][]klaxon.Move)
	for _, m := range moves {
		d := byGroup[m.From]
		if d == nil {
			d = &delivery{tmpl: incident.Template{Group: m.From}, done: make(chan outcome, 1)}
			byGroup[m.From] = d
			ds = append(ds, d)
		}
		integration, _, _ := strings.Cut(m.Alert, "/") // see klaxon.AlertKey
		a := klaxon.Alert{Key: m.Alert, Integration: integration, Status: klaxon.Resolved, Partial: true, MovedTo: m.to}
		if late {
			a.EndsAt = m.At // see MakeOwed
		}
		d.alerts = append(d.alerts, a)
		made[d] = append(made[d], m.Move)
	}
	for i, d := range ds {
		p.submit(ctx, d, i == len(ds)-1)
	}
	var settle []klaxon.Move
	for _, d := range ds {
		o := <-d.done // every committer answers, within commitTimeout
		if o.err != nil {
			p.log.Warn("resolve alerts that moved to another group", "group", d.tmpl.Group, "alerts", len(d.alerts), "err", o.err)
		} else {
			settle = append(settle, made[d]...)
		}
		p.metrics.moved(len(d.alerts), o.err, late)
		more = append(more, o.moved...)
	}
	if err := p.store.SettleMoves(ctx, settle); err != nil {
		// They stay owed: Run makes them again, which changes nothing.
		p.log.Warn("settle moves made", "alerts", len(settle), "err", err)
		return more, false
	}
	return more, len(settle) == len(moves)
}

// owedAfter is how long a move is its sender's to make: Run makes those
// owed for longer. Its sender, which makes it within commitTimeout, has
// given up on it by then.
const owedAfter = time.Minute

// sweepEvery is how often Run looks for moves owed.
const sweepEvery = owedAfter / 2

// maxOwed bounds the moves that Run reads at a time.
const maxOwed = 1000

// Run makes, until ctx ends, the moves that their senders left owed: a
// process killed, or a store that failed, between the commit that moved
// an alert and its resolve in the group it left; and the unindexing of
// closed incidents left owed (see Sweep).
func (p *Pipeline) Run(ctx context.Context) error {
	t := time.NewTicker(sweepEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		p.Sweep(ctx)
	}
}

// Sweep is one sweep of Run: it makes the moves owed (MakeOwed), and the
// unindexing of closed incidents owed, where the store leaves it so (an
// unindexer).
func (p *Pipeline) Sweep(ctx context.Context) {
	p.MakeOwed(ctx)
	if u, ok := p.store.(unindexer); ok {
		if err := u.Unindex(ctx); err != nil {
			p.log.Warn("unindex the alerts of closed incidents", "err", err)
		}
	}
}

// An unindexer is a store whose commit that closes an incident of a
// storm may leave the unindexing of its alerts owed, to be made in
// writes of their own: both stores do, past a thousand alerts, so that
// the escalation engine's writes go between them. Its caller makes them
// before the commit returns; Unindex makes what a process stopped, or a
// write that failed, left owed. Until then an alert of the closed
// incident still names its group in the index: a resolve of it goes to
// the group (where it is no change), and its report in another group
// tells of a move whose resolve changes nothing.
type unindexer interface {
	Unindex(ctx context.Context) error
}

// MakeOwed makes the moves owed for longer than owedAfter: one sweep of
// Run, for tests. Each resolve says when its alert moved, so that one
// seen firing in the group it left since (routed there again: the route
// was rolled back) is not resolved there, but indexed there again,
// which moves it back (see klaxon.Alert.MovedTo).
func (p *Pipeline) MakeOwed(ctx context.Context) {
	for range maxSweeps {
		owed, err := p.store.OwedMoves(ctx, p.now().Add(-owedAfter), maxOwed)
		if err != nil {
			p.log.Warn("read the moves owed", "err", err)
			return
		}
		if len(owed) == 0 {
			return
		}
		due := make([]moved, len(owed))
		for i, m := range owed {
			due[i] = moved{Move: m, to: m.To}
		}
		p.log.Info("resolve alerts that moved, whose senders did not", "alerts", len(due))
		if !p.move(ctx, due, true) || len(owed) < maxOwed {
			return // what failed stays owed, for the next sweep
		}
	}
}

// maxSweeps bounds the reads of one sweep.
const maxSweeps = 10
