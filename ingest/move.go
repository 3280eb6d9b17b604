package ingest

import (
	"context"

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
	to          string
	integration string
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
				m.integration = d.alerts[i].Integration
				o.moved = append(o.moved, m)
				delete(of, m.Alert)
			}
		}
		d.done <- o
	}
}

// move resolves each alert of moves in the group it left, as moved to its
// new incident: one delivery a group, committed as any other, and waited
// for. The sender's alerts are committed already, so a move that fails
// is logged, not the sender's error: the incident it left then stays open
// until someone resolves it.
func (p *Pipeline) move(ctx context.Context, moves []moved) {
	ctx = context.WithoutCancel(ctx)
	// A commit of moves may take deliveries of senders too, and moves
	// that one of those made come back here: a few rounds at most.
	for round := 0; len(moves) > 0 && round < maxMoveRounds; round++ {
		moves = p.moveOnce(ctx, moves)
	}
}

// maxMoveRounds bounds the rounds of move.
const maxMoveRounds = 4

// moveOnce is a round of move: it returns the moves that its commits
// made in turn.
func (p *Pipeline) moveOnce(ctx context.Context, moves []moved) (more []moved) {
	byGroup := map[string]*delivery{}
	var ds []*delivery
	for _, m := range moves {
		d := byGroup[m.From]
		if d == nil {
			d = &delivery{tmpl: incident.Template{Group: m.From}, done: make(chan outcome, 1)}
			byGroup[m.From] = d
			ds = append(ds, d)
		}
		d.alerts = append(d.alerts, klaxon.Alert{Key: m.Alert, Integration: m.integration, Status: klaxon.Resolved, Partial: true, MovedTo: m.to})
	}
	for i, d := range ds {
		p.submit(ctx, d, i == len(ds)-1)
	}
	for _, d := range ds {
		o := <-d.done // every committer answers, within commitTimeout
		if o.err != nil {
			p.log.Warn("resolve alerts that moved to another group", "group", d.tmpl.Group, "alerts", len(d.alerts), "err", o.err)
		}
		p.metrics.moved(len(d.alerts), o.err)
		more = append(more, o.moved...)
	}
	return more
}
