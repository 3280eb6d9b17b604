package redis

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/store/internal/alertrecord"
	"github.com/klaxonhq/klaxon/store/internal/incidentjson"
	"github.com/redis/go-redis/v9"
)

// Replies of commit.lua.
const (
	committed  = 1
	conflicted = 0
	noOpen     = 2
)

// Commit applies c if the group is still at c.Version; otherwise it
// returns an error matching klaxon.ErrConflict and the group is as it
// was. Within c, Cancel wins over Timers. An urgent commit goes through
// connections of its own, so that it never queues behind ingest's; the
// others that come together go in one pipeline (see batcher).
//
// A commit is three steps:
//
//  1. On a cluster, write ahead, outside the script, the keys that cannot
//     be in the group's shard: the incident ID → group mapping of each
//     incident, the entry of each alert in Index and of each user in
//     Paged. All are idempotent and harmless when the commit does not
//     land: see writeAhead. On a single server (or Sentinel's master)
//     every key is on one node: the script writes them itself, after its
//     checks and before the commit's own keys, and the commit costs one
//     round trip.
//  2. Run commit.lua on the group's shard: check the version, write the
//     group, its incidents, their state sets, the shard's alert index and
//     the group's timers, together.
//  3. Delete the entries of the alerts that the script unindexed, each only
//     if it still holds the value the script removed; and unindex, a
//     thousand at a time, the alerts of an incident of a storm that it
//     closed (see drain.go).
func (s *Store) Commit(ctx context.Context, c klaxon.Commit) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("commit group %s: %w", c.Group, err)
	}
	if err := validate(c); err != nil {
		return fmt.Errorf("commit group %s: %w", c.Group, err)
	}
	rdb := s.rdb
	if c.Urgent {
		rdb = s.urgent
	}
	if err := s.keepDetails(ctx, rdb, c); err != nil {
		return fmt.Errorf("commit group %s: %w", c.Group, err)
	}
	// The token names this commit: a reply lost and the script sent again
	// by the client finds it applied, and index entries name it.
	token := rand.Text()
	ahead, cluster := s.aheadOf(c, token), s.cluster()
	keys, args, stored, err := s.commitCall(c, token, ahead, !cluster)
	if err != nil {
		return fmt.Errorf("commit group %s: %w", c.Group, err)
	}
	// refused takes back the ID maps noted for the group's waits when
	// the commit surely did not land (its script not run, or refused):
	// its incidents never were. A commit whose outcome is unknown (a
	// reply lost) keeps them.
	refused := func() {}
	if cluster {
		if s.waits != nil && !c.Urgent && !s.view {
			// Waited for by the group's next waits, until confirmed:
			// an incident this commit maps may close before them. Not
			// the engine's commits, which no wait follows: noted, they
			// would fill the notes (a closed incident's pages, whose
			// map goes again) and clear those of deliveries about to
			// wait.
			added := s.waits.wrote(c.Group, ahead.set)
			refused = func() { s.waits.unwrote(c.Group, added) }
		}
		before, err := writeAhead(ctx, rdb, ahead)
		if err != nil {
			refused()
			return fmt.Errorf("commit group %s: %w", c.Group, classify(err))
		}
		// Told now: an attempt after this one finds the entries this
		// one wrote, which name c.Group (see klaxon.Commit.Moved).
		if c.Moved != nil {
			moves := movedAhead(c, before)
			if err := s.oweAhead(ctx, rdb, c.Group, moves); err != nil {
				refused()
				return fmt.Errorf("commit group %s: %w", c.Group, classify(err))
			}
			*c.Moved = append(*c.Moved, moves...)
		}
	}
	var reply []any
	if c.Urgent || s.commits == nil {
		reply, err = commitScript.Run(ctx, rdb, keys, args...).Slice()
	} else {
		reply, err = s.commits.run(ctx, call{keys: keys, args: args})
	}
	if err != nil {
		return fmt.Errorf("commit group %s: %w", c.Group, classify(err))
	}
	switch code, _ := reply[0].(int64); code {
	case conflicted:
		refused()
		s.cache.Drop(c.Group)
		return fmt.Errorf("commit group %s: no longer in the state read at version %d (now at %v): %w", c.Group, c.Version, reply[1], klaxon.ErrConflict)
	case noOpen:
		refused()
		return fmt.Errorf("commit group %s: open incident %s: %w", c.Group, c.Open, klaxon.ErrNotFound)
	case committed:
	default:
		return fmt.Errorf("commit group %s: unexpected reply %v", c.Group, reply)
	}
	// Landed: the alerts' details are as the digests say.
	for i, inc := range c.Incidents {
		for j := range inc.Changed {
			inc.Changed[j].Stored = stored[i][j]
		}
	}
	s.cache.Committed(c, token)
	if c.Moved != nil && !cluster {
		*c.Moved = append(*c.Moved, movedInline(c, replyList(reply, 2))...)
	}
	s.dropEntries(ctx, replyList(reply, 1))
	// An incident written resolved may have left its unindexing owed (a
	// storm's: see drain.go). Asked of each, not told by the reply: a
	// commit sent again after a lost reply finds itself applied, and
	// replies with no more than that. drain.lua finds nothing owed in one
	// read.
	for _, inc := range c.Incidents {
		if inc.State == klaxon.StateResolved && !s.drainLater {
			// Owed until made: what fails here, Unindex makes later.
			_ = s.drain(context.WithoutCancel(ctx), s.tag(c.Group), incidentKey(s.tag(c.Group), inc.ID))
		}
	}
	return nil
}

// replyList is the i-th element of a reply of commit.lua, a list: empty
// when the reply has none (a commit sent again finds itself applied and
// replies {1}).
func replyList(reply []any, i int) []any {
	if i >= len(reply) {
		return nil
	}
	l, _ := reply[i].([]any)
	return l
}

// movedInline returns the keys of c.Index that commit.lua found indexed
// by another group: moved holds the place of each in c.Index, from 1, and
// that group.
func movedInline(c klaxon.Commit, moved []any) []klaxon.Move {
	var out []klaxon.Move
	for i := 0; i+1 < len(moved); i += 2 {
		n, _ := moved[i].(int64)
		from, _ := moved[i+1].(string)
		if n >= 1 && int(n) <= len(c.Index) {
			out = append(out, klaxon.Move{Alert: c.Index[n-1], From: from, Group: c.Group, To: c.Open, At: c.At})
		}
	}
	return out
}

// movedAhead returns the keys of c.Index whose entries, before writeAhead
// wrote them, named another group: before holds each entry's value, ""
// for none. An entry may be of a commit that never landed: the group it
// names then holds no such alert, and a resolve sent there changes
// nothing.
func movedAhead(c klaxon.Commit, before []string) []klaxon.Move {
	var out []klaxon.Move
	for i, v := range before {
		if from, ok := indexedGroup(v); ok && from != c.Group && i < len(c.Index) {
			out = append(out, klaxon.Move{Alert: c.Index[i], From: from, Group: c.Group, To: c.Open, At: c.At})
		}
	}
	return out
}

// commitCall builds the keys and arguments of commit.lua for c; with
// inline, the script writes ahead's entries too. An alert's details
// record goes only where its digest is not the one the alert's state
// was folded from (AlertState.Stored): the store holds those details
// already, since the script writes nothing unless the group is still as
// read. stored holds the digest of each changed alert's details, by
// incident, for the state once the commit lands.
func (s *Store) commitCall(c klaxon.Commit, token string, ahead entries, inline bool) (keys []string, args []any, stored [][]uint64, err error) {
	tag := s.tag(c.Group)
	keys = make([]string, 0, 5+len(c.Incidents))
	keys = append(keys, groupKey(tag, c.Group), alertsKey(tag), queueKey(tag), timersKey(tag), leasesKey(tag))
	mustExist := "0"
	if c.Open != "" && !slices.ContainsFunc(c.Incidents, func(inc *klaxon.Incident) bool { return inc.ID == c.Open }) {
		mustExist = "1"
	}
	asks := "" // the commit's time, for the moves it tells of
	if c.Moved != nil {
		asks = strconv.FormatInt(c.At.UnixMicro(), 10)
	}
	if !inline {
		ahead = entries{} // written ahead: the script has none
	}
	args = make([]any, 0, commitArgs(c, ahead))
	args = append(args, strconv.FormatUint(c.Version, 10), c.Open, c.Group, tag, token, mustExist, c.Token, asks, strconv.FormatUint(c.Version+1, 10))
	args = appendPairs(appendPairs(appendPairs(args, ahead.set), ahead.add), ahead.index)
	args = append(args, len(c.Incidents))
	// A header that the group holds as it is goes as "", which the
	// script leaves as it is: the cache holds the header of the state
	// read, and the script writes nothing unless the group is still in
	// that state.
	held := s.cache.Header(c.Group, c.Version, c.Token)
	for _, inc := range c.Incidents {
		body := []byte{}
		if held == nil || held.ID != inc.ID || !inc.SameHeader(held) {
			if body, err = incidentjson.Header(inc); err != nil {
				return nil, nil, nil, fmt.Errorf("encode incident %s: %w", inc.ID, err)
			}
		}
		keys = append(keys, incidentKey(tag, inc.ID))
		args = append(args, inc.ID, string(inc.State), score(inc.ID), body, len(inc.Changed))
		size := 0
		for i := range inc.Changed {
			size += alertrecord.Size(&inc.Changed[i]) + alertrecord.DigestSize
		}
		arena := make([]byte, 0, size) // one buffer for the records
		digests := make([]uint64, len(inc.Changed))
		var details []any // alert key, details record
		for i := range inc.Changed {
			a := &inc.Changed[i]
			start := len(arena)
			arena = alertrecord.EncodeDetails(arena, a)
			d := arena[start:len(arena):len(arena)]
			digests[i] = alertrecord.Digest(d)
			if digests[i] != a.Stored {
				details = append(details, a.Key, d)
			}
			start = len(arena)
			if arena, err = alertrecord.EncodeSeenDigest(arena, a, digests[i]); err != nil {
				return nil, nil, nil, err
			}
			args = append(args, a.Key, arena[start:len(arena):len(arena)])
		}
		stored = append(stored, digests)
		args = append(args, len(details)/2)
		args = append(args, details...)
		// The alerts that may be new to the incident, for its sorted set
		// of keys: those not folded from its own record (Stored is 0
		// there; its records of layout 3 had no digest, and go again).
		order := len(args)
		args = append(args, 0)
		for i := range inc.Changed {
			if inc.Changed[i].Stored == 0 {
				args = append(args, "0", inc.Changed[i].Key)
			}
		}
		args[order] = (len(args) - order - 1) / 2
		events, err := incidentjson.Events(inc)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("encode event of incident %s: %w", inc.ID, err)
		}
		args = append(args, len(events))
		for _, e := range events {
			args = append(args, e)
		}
	}
	args = append(args, len(c.Index))
	for _, k := range c.Index {
		args = append(args, k)
	}
	args = append(args, c.Claim, len(c.Timers))
	for _, t := range c.Timers {
		t.Claim = "" // a claim is kept in the lease hash, not with the timer
		body, err := json.Marshal(t)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("encode timer %s: %w", t.Incident, err)
		}
		args = append(args, t.Incident, ceilMicro(t.Due), body)
	}
	args = append(args, len(c.Cancel))
	for _, id := range c.Cancel {
		args = append(args, id)
	}
	if !inline { // a cluster's: a single server migrates no slot
		keys = append(keys, undeclared(tag, c)...)
	}
	return keys, args, stored, nil
}

// undeclared are the keys of the group's shard that commit.lua builds
// from its hash tag rather than takes from KEYS, declared after those it
// takes, which it reads by their place. While the shard's slot migrates
// (a reshard), Redis runs a script only when every key it declares is
// on the node: one that touched a key not there would fail there, after
// its writes before it, which Redis does not undo. Declared, such a
// commit is refused whole (TRYAGAIN, ASK), and tried again.
func undeclared(tag string, c klaxon.Commit) []string {
	keys := make([]string, 0, 6+4*len(c.Incidents))
	keys = append(keys, stateKey(tag, klaxon.StateTriggered), stateKey(tag, klaxon.StateAcknowledged), stateKey(tag, klaxon.StateResolved),
		movesKey(tag), unindexKey(tag))
	if c.Open != "" {
		keys = append(keys, incidentKey(tag, c.Open))
	}
	for _, inc := range c.Incidents {
		keys = append(keys, incidentAlertsKey(tag, inc.ID), detailsKey(tag, inc.ID), alertOrderKey(tag, inc.ID), timelineKey(tag, inc.ID))
	}
	return keys
}

// commitArgs is how many arguments commitCall gives commit.lua for c,
// at most: each incident's alert records, details and keys to sort
// count every alert changed.
func commitArgs(c klaxon.Commit, ahead entries) int {
	n := 9 + 3 + 2*(len(ahead.set)+len(ahead.add)+len(ahead.index)) + 1
	for _, inc := range c.Incidents {
		n += 5 + 3 + 6*len(inc.Changed) + len(inc.Recorded)
	}
	return n + 1 + len(c.Index) + 2 + 3*len(c.Timers) + 1 + len(c.Cancel)
}

// appendPairs appends to args the counted list of pairs.
func appendPairs(args []any, pairs [][2]string) []any {
	args = append(args, len(pairs))
	for _, kv := range pairs {
		args = append(args, kv[0], kv[1])
	}
	return args
}

// entries are the keys of a commit that live outside the group's shard:
// keys to set, and sets to add a member to, each a pair.
//
//   - P:id:<id> → group. Only Incident reads it, and an ID reaches users
//     only after a commit with it landed, which wrote the same value. A
//     mapping for an incident never committed is never asked for; if it
//     were, the shard has no such incident and Incident says not found.
//   - P:a:<alert> → "<token> <group>". AlertGroups trusts it only when the
//     group's shard, written by the script, maps the alert to the same
//     group, so a stale entry reads as "not indexed". Even trusted, a
//     resolve routed to a group whose open incident lacks the alert is
//     ignored by incident.Apply.
//   - P:p:<user> ∋ id, for each of c.Paged. PagedIncidents lists an
//     incident only when its shard holds it open with a page to the
//     user, so an entry of a commit that did not land lists nothing.
//
// On a cluster they are written ahead of the commit (writeAhead), and
// each is harmless if the commit then fails or never runs. An entry left
// by a lost commit stays until the alert is indexed again; it costs one
// small key. A page entry stays until PagedIncidents finds its incident
// closed or gone.
type entries struct {
	set, add [][2]string
	// index are the entries of c.Index, in its order: set, after the
	// value each held is read (see Commit.Moved).
	index [][2]string
}

// aheadOf returns the entries of c, committed with token.
func (s *Store) aheadOf(c klaxon.Commit, token string) entries {
	// The open incident that a landed commit left at c.Version is mapped
	// already: the commits that follow it, most of a storm's, skip it.
	var mapped string
	if v, open, ok := s.cache.Get(c.Group); ok && v == c.Version && open != nil {
		mapped = open.ID
	}
	var e entries
	for _, inc := range c.Incidents {
		if inc.ID != mapped {
			e.set = append(e.set, [2]string{s.idKey(inc.ID), c.Group})
		}
	}
	entry := token + " " + c.Group
	for _, k := range c.Index {
		e.index = append(e.index, [2]string{s.alertKey(k), entry})
	}
	for _, pg := range c.Paged {
		e.add = append(e.add, [2]string{s.pagedKey(pg.User), pg.Incident})
	}
	return e
}

// writeAhead writes e, before the commit whose entries they are, and
// returns the value each of e.index held before ("" for none).
func writeAhead(ctx context.Context, rdb redis.UniversalClient, e entries) ([]string, error) {
	if len(e.set) == 0 && len(e.add) == 0 && len(e.index) == 0 {
		return nil, nil
	}
	before := make([]*redis.StringCmd, len(e.index))
	_, err := pipelined(ctx, rdb, func(p redis.Pipeliner) {
		for _, kv := range e.set {
			p.Set(ctx, kv[0], kv[1], 0)
		}
		for _, kv := range e.add {
			p.SAdd(ctx, kv[0], kv[1])
		}
		for i, kv := range e.index {
			before[i] = p.Get(ctx, kv[0])
			p.Set(ctx, kv[0], kv[1], 0)
		}
	})
	if err != nil {
		return nil, err
	}
	values := make([]string, len(before))
	for i, cmd := range before {
		values[i] = cmd.Val()
	}
	return values, nil
}

// dropEntries deletes the entries of alerts that a commit unindexed:
// removed holds pairs of alert key and the shard value the script removed.
// An entry is deleted only if it still holds that value, so that an entry
// of a later commit that indexed the alert again, maybe in another group,
// stays.
//
// The commit has landed: its errors are not the commit's. An entry left
// behind reads as "not indexed" (its group's shard no longer has the
// alert) and costs one key, so dropEntries does not fail the commit, and
// runs even if ctx was canceled once the script ran.
func (s *Store) dropEntries(ctx context.Context, removed []any) {
	if len(removed) < 2 {
		return
	}
	calls := make([]call, 0, len(removed)/2)
	for i := 0; i+1 < len(removed); i += 2 {
		alert, _ := removed[i].(string)
		value, _ := removed[i+1].(string)
		calls = append(calls, call{keys: []string{s.alertKey(alert)}, args: []any{value}})
	}
	_, _ = s.evalAll(context.WithoutCancel(ctx), unindexScript, calls)
}

// validate rejects a commit that could not be stored, before any write:
// what no store could keep, and times a Lua number cannot hold.
func validate(c klaxon.Commit) error {
	if err := c.Validate(); err != nil {
		return err
	}
	for _, t := range c.Timers {
		if !inRange(t.Due) {
			return klaxon.Invalid("timers", "timer of incident %s is due at %s: want a time from %d to %d", t.Incident, t.Due, minYear, maxYear-1)
		}
	}
	return nil
}

// Times in scripts are microseconds since 1970, which a Lua number (a
// float64) holds exactly until the year 2255.
const minYear, maxYear = 1970, 2200

func inRange(t time.Time) bool { return t.Year() >= minYear && t.Year() < maxYear }

// floorMicro and ceilMicro round t to a microsecond: a timer due at a
// fraction of a microsecond is ready at the next one, never before its due
// time.
func floorMicro(t time.Time) int64 { return t.UnixMicro() }

func ceilMicro(t time.Time) int64 {
	us := t.UnixMicro()
	if t.Nanosecond()%1000 != 0 {
		us++
	}
	return us
}

// keepDetails fills in the partial records of c (see klaxon.Alert.Partial)
// from the alerts stored, read whole: one round trip, only for a commit
// that has them. A record changed since is no harm: the commit
// then finds its group at another version, and is refused.
func (s *Store) keepDetails(ctx context.Context, rdb redis.UniversalClient, c klaxon.Commit) error {
	for _, inc := range c.Incidents {
		var fields []string
		for i := range inc.Changed {
			if inc.Changed[i].Partial {
				fields = append(fields, inc.Changed[i].Key)
			}
		}
		if len(fields) == 0 {
			continue
		}
		whole, err := s.wholeAlerts(ctx, rdb, s.tag(c.Group), inc.ID, fields)
		if err != nil {
			return fmt.Errorf("incident %s: %w", inc.ID, err)
		}
		stored := make(map[string]klaxon.AlertState, len(whole))
		for _, a := range whole {
			stored[a.Key] = a
		}
		for i := range inc.Changed {
			if a, ok := stored[inc.Changed[i].Key]; ok {
				inc.Changed[i].KeepDetails(a)
			}
		}
	}
	return nil
}
