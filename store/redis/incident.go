package redis

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/store/internal/alertrecord"
	"github.com/redis/go-redis/v9"
)

// Incident reads one incident's header: its group from P:id:<id>, then
// the record in the group's shard. The error matches klaxon.ErrNotFound if
// there is none.
func (s *Store) Incident(ctx context.Context, id string) (*klaxon.Incident, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("read incident %s: %w", id, err)
	}
	tag, err := s.incidentTag(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("read incident %s: %w", id, err)
	}
	body, err := s.rdb.HGet(ctx, incidentKey(tag, id), "j").Bytes()
	if errors.Is(err, redis.Nil) {
		// Mapped by a commit that did not land.
		return nil, fmt.Errorf("read incident %s: %w", id, klaxon.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read incident %s: %w", id, classify(err))
	}
	inc, err := decodeIncident(body)
	if err != nil {
		return nil, fmt.Errorf("read incident %s: %w", id, err)
	}
	return inc, nil
}

// incidentTag returns the hash tag of incident id's shard, from P:id:<id>.
func (s *Store) incidentTag(ctx context.Context, id string) (string, error) {
	group, err := s.rdb.Get(ctx, s.idKey(id)).Result()
	if errors.Is(err, redis.Nil) || (err == nil && group == "") { // "": reserved (NextIncidentID), not committed
		return "", fmt.Errorf("incident %s: %w", id, klaxon.ErrNotFound)
	}
	if err != nil {
		return "", classify(err)
	}
	return s.tag(group), nil
}

// IncidentAlerts reads a page of limit alerts of incident id, in the
// order of their keys, from the incident's sorted set of alert keys
// (T:i:<id>:k): cursor is the last key of the page before, and only the
// last page is short. Two round trips after the incident's shard: the
// keys, then their records.
//
// The set holds the keys of the alerts hash, which only ever gains keys,
// in the same commits; so it holds them all when the two count the same.
// When they do not, it was written by a Klaxon from before the set (an
// older version, or a replica of one still running), and the page first
// adds the keys it lacks (sortAlerts), once for each incident.
func (s *Store) IncidentAlerts(ctx context.Context, id, cursor string, limit int) ([]klaxon.AlertState, string, error) {
	if err := ctx.Err(); err != nil {
		return nil, "", fmt.Errorf("read alerts of incident %s: %w", id, err)
	}
	limit = max(limit, 1)
	tag, err := s.incidentTag(ctx, id)
	if err != nil {
		return nil, "", fmt.Errorf("read alerts of incident %s: %w", id, err)
	}
	from := "-"
	if cursor != "" {
		from = "(" + cursor
	}
	var keys []string
	for sorted := false; ; sorted = true {
		var exists, alerts, ordered *redis.IntCmd
		var page *redis.StringSliceCmd
		if _, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
			exists = p.Exists(ctx, incidentKey(tag, id))
			alerts, ordered = p.HLen(ctx, incidentAlertsKey(tag, id)), p.ZCard(ctx, alertOrderKey(tag, id))
			// One more than the page says whether there are more.
			page = p.ZRangeByLex(ctx, alertOrderKey(tag, id), &redis.ZRangeBy{Min: from, Max: "+", Count: int64(limit) + 1})
			return nil
		}); err != nil {
			return nil, "", fmt.Errorf("read alerts of incident %s: %w", id, classify(err))
		}
		if exists.Val() == 0 {
			// Mapped by a commit that did not land.
			return nil, "", fmt.Errorf("read alerts of incident %s: %w", id, klaxon.ErrNotFound)
		}
		if keys = page.Val(); alerts.Val() == ordered.Val() || sorted {
			break
		}
		if err := s.sortAlerts(ctx, tag, id); err != nil {
			return nil, "", fmt.Errorf("read alerts of incident %s: %w", id, err)
		}
	}
	next := ""
	if len(keys) > limit {
		keys, next = keys[:limit], keys[limit-1]
	}
	if len(keys) == 0 {
		return nil, "", nil
	}
	out, err := s.wholeAlerts(ctx, s.rdb, tag, id, keys)
	if err != nil {
		return nil, "", fmt.Errorf("read alerts of incident %s: %w", id, err)
	}
	for i := range out {
		out[i].Stored = 0 // this store's own, for folds
	}
	return out, next, nil
}

// sortAlerts adds the keys of incident id's alerts to its sorted set of
// keys, a thousand at a time. Adding a key twice changes nothing: two
// readers at once leave the set whole.
func (s *Store) sortAlerts(ctx context.Context, tag, id string) error {
	for cursor := uint64(0); ; {
		fields, next, err := s.rdb.HScan(ctx, incidentAlertsKey(tag, id), cursor, "", 1000).Result()
		if err != nil {
			return classify(err)
		}
		if len(fields) > 0 {
			members := make([]redis.Z, 0, len(fields)/2)
			for i := 0; i < len(fields); i += 2 { // key, record
				members = append(members, redis.Z{Member: fields[i]})
			}
			if err := s.rdb.ZAdd(ctx, alertOrderKey(tag, id), members...).Err(); err != nil {
				return classify(err)
			}
		}
		if cursor = next; cursor == 0 {
			return nil
		}
	}
}

// Timeline reads up to limit events of incident id from the offset-th,
// and how many it has, in one round trip after the incident's shard.
func (s *Store) Timeline(ctx context.Context, id string, offset, limit int) ([]klaxon.Event, int, error) {
	if err := ctx.Err(); err != nil {
		return nil, 0, fmt.Errorf("read timeline of incident %s: %w", id, err)
	}
	tag, err := s.incidentTag(ctx, id)
	if err != nil {
		return nil, 0, fmt.Errorf("read timeline of incident %s: %w", id, err)
	}
	offset = max(offset, 0)
	key := timelineKey(tag, id)
	var page *redis.StringSliceCmd
	var total, exists *redis.IntCmd
	if _, err := s.pipelined(ctx, func(p redis.Pipeliner) {
		exists = p.Exists(ctx, incidentKey(tag, id))
		total = p.LLen(ctx, key)
		if limit > 0 {
			page = p.LRange(ctx, key, int64(offset), int64(offset+limit-1))
		}
	}); err != nil {
		return nil, 0, fmt.Errorf("read timeline of incident %s: %w", id, classify(err))
	}
	if exists.Val() == 0 {
		// Mapped by a commit that did not land.
		return nil, 0, fmt.Errorf("read timeline of incident %s: %w", id, klaxon.ErrNotFound)
	}
	if page == nil {
		return nil, int(total.Val()), nil
	}
	out := make([]klaxon.Event, 0, len(page.Val()))
	for _, v := range page.Val() {
		var e klaxon.Event
		if err := json.Unmarshal([]byte(v), &e); err != nil {
			return nil, 0, fmt.Errorf("read timeline of incident %s: %w", id, err)
		}
		out = append(out, e)
	}
	return out, int(total.Val()), nil
}

// listed is an incident ID found in a shard's state set.
type listed struct {
	id    string
	score float64
	tag   string
}

// Incidents lists incidents newest first, by numeric ID. A filter without
// states lists the open ones (triggered and acknowledged).
//
// Each shard keeps one sorted set per state, scored by ID, so Incidents
// asks every shard for the newest Limit IDs (below Before) of each state
// asked for (one pipeline), merges them, keeps the newest Limit, and
// reads those records (a second pipeline). An incident whose state
// changed between the two is left out, and the IDs older than those read
// fill its place.
func (s *Store) Incidents(ctx context.Context, f klaxon.IncidentFilter) ([]*klaxon.Incident, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("list incidents: %w", err)
	}
	states := slices.Clone(f.States)
	if len(states) == 0 {
		states = []klaxon.State{klaxon.StateTriggered, klaxon.StateAcknowledged}
	}
	slices.Sort(states)
	states = slices.Compact(states)
	// Narrowed by policy or urgency, which only the headers say, the IDs
	// of the states are listed a batch at a time, newest first, and their
	// headers read, until Limit of them pass.
	page := &redis.ZRangeBy{Max: "+inf", Min: "-inf"}
	if f.Before != "" {
		if err := klaxon.CheckIncidentID(f.Before); err != nil {
			return nil, fmt.Errorf("list incidents: %w", err)
		}
		// IDs are numbers, each its own score.
		page.Max = "(" + strconv.FormatFloat(score(f.Before), 'f', -1, 64)
	}

	var list []*klaxon.Incident
	for {
		switch {
		case f.Narrowed():
			page.Count = listBatch
		case f.Limit > 0:
			page.Count = int64(f.Limit - len(list))
		}
		ids, cutoff, cut, err := s.listIDs(ctx, states, page)
		if err != nil {
			return nil, fmt.Errorf("list incidents: %w", err)
		}
		var full bool
		if f.Narrowed() {
			// A set that gave its whole Count may hold IDs older than
			// its last that are newer than others': the IDs read are
			// the newest of the states down to the newest such last
			// (cutoff), and the next batch reads on from there. The rest
			// is read again then, not kept: each ID is read about once.
			if full = cut; full {
				ids = ids[:sort.Search(len(ids), func(i int) bool { return ids[i].score < cutoff })]
			}
		} else if full = page.Count > 0 && len(ids) >= int(page.Count); full {
			// Each set gave its newest Count: the newest Count of them
			// all are the newest of the states.
			ids = ids[:page.Count]
		}
		for rest := ids; len(rest) > 0; {
			batch := rest[:min(len(rest), listBatch)]
			rest = rest[len(batch):]
			headers, err := s.headers(ctx, batch)
			if err != nil {
				return nil, fmt.Errorf("list incidents: %w", err)
			}
			for _, inc := range headers {
				if inc != nil && slices.Contains(states, inc.State) && f.Keeps(inc) {
					list = append(list, inc)
					if f.Limit > 0 && len(list) == f.Limit {
						return list, nil
					}
				}
			}
		}
		// One whose state changed between the two reads was left out:
		// the IDs older than those read fill its place.
		if !full {
			return list, nil
		}
		page.Max = "(" + strconv.FormatFloat(ids[len(ids)-1].score, 'f', -1, 64)
	}
}

// listIDs reads the IDs of the states, page of each shard's set of each,
// in one pipeline, newest first. cutoff is the newest of the last IDs'
// scores of the sets that gave page.Count of them (whose older IDs were
// not read), when cut says some did.
func (s *Store) listIDs(ctx context.Context, states []klaxon.State, page *redis.ZRangeBy) (ids []listed, cutoff float64, cut bool, err error) {
	type found struct {
		tag string
		cmd *redis.ZSliceCmd
	}
	var sets []found
	if _, err := s.pipelined(ctx, func(p redis.Pipeliner) {
		for _, tag := range s.tags {
			for _, st := range states {
				sets = append(sets, found{tag, p.ZRevRangeByScoreWithScores(ctx, stateKey(tag, st), page)})
			}
		}
	}); err != nil {
		return nil, 0, false, classify(err)
	}
	for _, set := range sets {
		got := set.cmd.Val()
		for _, z := range got {
			id, _ := z.Member.(string)
			ids = append(ids, listed{id: id, score: z.Score, tag: set.tag})
		}
		if page.Count > 0 && len(got) >= int(page.Count) {
			if last := got[len(got)-1].Score; !cut || last > cutoff {
				cutoff, cut = last, true
			}
		}
	}
	newestFirst(ids)
	// The sets are read apart, not in one transaction: an incident whose
	// state changed between two reads may be in both.
	return slices.CompactFunc(ids, func(a, b listed) bool { return a.id == b.id }), cutoff, cut, nil
}

// listBatch is how many IDs, and their headers, a narrowed list reads at
// a time.
const listBatch = 500

// newestFirst sorts ids newest first: by numeric ID, then by ID.
func newestFirst(ids []listed) {
	slices.SortFunc(ids, func(a, b listed) int {
		return cmp.Or(cmp.Compare(b.score, a.score), cmp.Compare(b.id, a.id))
	})
}

// headers reads the headers of the incidents ids, in one pipeline, in
// their order; nil for an incident that its shard does not hold.
func (s *Store) headers(ctx context.Context, ids []listed) ([]*klaxon.Incident, error) {
	bodies := make([]*redis.StringCmd, len(ids))
	if _, err := s.pipelined(ctx, func(p redis.Pipeliner) {
		for i, l := range ids {
			bodies[i] = p.HGet(ctx, incidentKey(l.tag, l.id), "j")
		}
	}); err != nil {
		return nil, classify(err)
	}
	out := make([]*klaxon.Incident, len(ids))
	for i, b := range bodies {
		if errors.Is(b.Err(), redis.Nil) {
			continue
		}
		inc, err := decodeIncident([]byte(b.Val()))
		if err != nil {
			return nil, fmt.Errorf("incident %s: %w", ids[i].id, err)
		}
		out[i] = inc
	}
	return out, nil
}

func decodeIncident(v []byte) (*klaxon.Incident, error) {
	var inc klaxon.Incident
	if err := json.Unmarshal(v, &inc); err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	return &inc, nil
}

// wholeAlerts reads incident id's alerts keys whole: their records and
// the details kept apart from them, together, in one transaction, so
// that a commit in between cannot pair one state's seen record with
// another's details. A key with no record is left out.
func (s *Store) wholeAlerts(ctx context.Context, rdb redis.UniversalClient, tag, id string, keys []string) ([]klaxon.AlertState, error) {
	var seen, apart *redis.SliceCmd
	if _, err := rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		seen = p.HMGet(ctx, incidentAlertsKey(tag, id), keys...)
		apart = p.HMGet(ctx, detailsKey(tag, id), keys...)
		return nil
	}); err != nil {
		return nil, classify(err)
	}
	var found, records []string
	var details []any
	for i, v := range seen.Val() {
		if r, ok := v.(string); ok {
			found, records, details = append(found, keys[i]), append(records, r), append(details, apart.Val()[i])
		}
	}
	return decodeAlerts(found, records, details)
}

// decodeAlerts decodes the records of alerts keys: whole ones alone, and
// seen records whose details are kept apart (alertrecord.Apart) with
// details, each key's (nil where there are none).
func decodeAlerts(keys, records []string, details []any) ([]klaxon.AlertState, error) {
	out := make([]klaxon.AlertState, len(records))
	for i, r := range records {
		var err error
		if !alertrecord.Apart([]byte(r)) {
			out[i], err = alertrecord.Decode([]byte(r))
		} else if d, ok := details[i].(string); ok {
			out[i], err = alertrecord.Join([]byte(r), []byte(d))
		} else {
			err = errors.New("its details are missing")
		}
		if err != nil {
			return nil, fmt.Errorf("alert %s: %w", keys[i], err)
		}
	}
	return out, nil
}
