package redis

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/store/internal/alertrecord"
	"github.com/redis/go-redis/v9"
)

// Group reads a group, its open incident's header and, of alerts, the
// records that incident holds, in one script, so that they are of one
// version. A group never written has Version 0 and no open incident.
func (s *Store) Group(ctx context.Context, key string, alerts []string) (klaxon.Group, error) {
	if err := ctx.Err(); err != nil {
		return klaxon.Group{}, fmt.Errorf("read group %s: %w", key, err)
	}
	tag := s.tag(key)
	args := make([]any, 0, 3+len(alerts))
	held, ok := s.cache.Group(key, nil)
	if ok && held.Open != nil {
		args = append(args, tag, strconv.FormatUint(held.Version, 10), held.Token)
	} else {
		args = append(args, tag, "", "")
	}
	for _, a := range alerts {
		args = append(args, a)
	}
	reply, err := groupScript.Run(ctx, s.rdb, []string{groupKey(tag, key)}, args...).Slice()
	if err != nil {
		return klaxon.Group{}, fmt.Errorf("read group %s: %w", key, classify(err))
	}
	version, _ := reply[0].(string)
	g := klaxon.Group{Key: key}
	g.Token, _ = reply[1].(string)
	open, _ := reply[2].(string)
	if g.Version, err = strconv.ParseUint(version, 10, 64); err != nil {
		return klaxon.Group{}, fmt.Errorf("read group %s: version %q: %w", key, version, err)
	}
	if open == "" {
		s.cache.Read(g)
		return g, nil
	}
	header, found := reply[3].(string)
	switch {
	case !found:
		return klaxon.Group{}, fmt.Errorf("read group %s: open incident %s: %w", key, open, klaxon.ErrNotFound)
	case header == "" && ok && held.Open != nil && held.Version == g.Version && held.Token == g.Token && held.Open.ID == open:
		g.Open = held.Open // unchanged since decoded
	default:
		if g.Open, err = decodeIncident([]byte(header)); err != nil {
			return klaxon.Group{}, fmt.Errorf("read group %s: open incident %s: %w", key, open, err)
		}
	}
	if g.Alerts, err = decodeSeen(alerts, reply[4:]); err != nil {
		return klaxon.Group{}, fmt.Errorf("read group %s: %w", key, err)
	}
	s.cache.Read(g)
	return g, nil
}

// decodeSeen decodes the records of alerts that a script read, one a
// key, false for a key with none; nil when none has one.
func decodeSeen(alerts []string, records []any) (map[string]klaxon.Seen, error) {
	var seen map[string]klaxon.Seen
	for i, v := range records {
		body, ok := v.(string)
		if !ok || i >= len(alerts) {
			continue
		}
		st, err := alertrecord.DecodeSeen([]byte(body))
		if err != nil {
			return nil, fmt.Errorf("alert %s: %w", alerts[i], err)
		}
		if seen == nil {
			seen = make(map[string]klaxon.Seen, len(alerts))
		}
		seen[alerts[i]] = st
	}
	return seen, nil
}

// ClosedAlerts reads the ID of group's last closed incident and what it
// keeps of alerts: one script on the group's shard.
func (s *Store) ClosedAlerts(ctx context.Context, group string, alerts []string) (string, map[string]klaxon.Seen, error) {
	if err := ctx.Err(); err != nil {
		return "", nil, fmt.Errorf("read the closed incident of group %s: %w", group, err)
	}
	tag := s.tag(group)
	args := make([]any, 0, 1+len(alerts))
	args = append(args, tag)
	for _, a := range alerts {
		args = append(args, a)
	}
	reply, err := closedScript.Run(ctx, s.rdb, []string{groupKey(tag, group)}, args...).Slice()
	if err != nil {
		return "", nil, fmt.Errorf("read the closed incident of group %s: %w", group, classify(err))
	}
	if len(reply) == 0 {
		return "", nil, nil
	}
	id, _ := reply[0].(string)
	seen, err := decodeSeen(alerts, reply[1:])
	if err != nil {
		return "", nil, fmt.Errorf("read the closed incident of group %s: %w", group, err)
	}
	return id, seen, nil
}

// CachedGroup answers Group from what this store last committed or read
// of the group, with no round trip (see klaxon.GroupCache).
func (s *Store) CachedGroup(key string, alerts []string) (klaxon.Group, bool) {
	return s.cache.Group(key, alerts)
}

// AlertGroups returns the group of each indexed key; keys not indexed are
// absent from the map.
//
// An entry P:a:<alert> is written before its commit, so it may name a
// group whose commit was lost. It counts only when the group's shard
// agrees: its alerts hash, written by the commit script, maps the alert to
// that same group. Two round trips: the entries, then their shards.
func (s *Store) AlertGroups(ctx context.Context, keys []string) (map[string]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("read alert groups: %w", err)
	}
	groups := make(map[string]string, len(keys))
	if len(keys) == 0 {
		return groups, nil
	}
	entries := make([]*redis.StringCmd, len(keys))
	_, err := s.pipelined(ctx, func(p redis.Pipeliner) {
		for i, k := range keys {
			entries[i] = p.Get(ctx, s.alertKey(k))
		}
	})
	if err != nil {
		return nil, fmt.Errorf("read alert groups: %w", classify(err))
	}

	type candidate struct {
		alert, group string
		cmd          *redis.StringCmd
	}
	var candidates []candidate
	_, err = s.pipelined(ctx, func(p redis.Pipeliner) {
		for i, e := range entries {
			group, ok := indexedGroup(e.Val())
			if !ok {
				continue
			}
			cmd := p.HGet(ctx, alertsKey(s.tag(group)), keys[i])
			candidates = append(candidates, candidate{alert: keys[i], group: group, cmd: cmd})
		}
	})
	if err != nil {
		return nil, fmt.Errorf("read alert groups: %w", classify(err))
	}
	for _, c := range candidates {
		if g, ok := indexedGroup(c.cmd.Val()); ok && g == c.group {
			groups[c.alert] = c.group
		}
	}
	return groups, nil
}

// indexedGroup parses an alert index value, "<commit token> <group>".
func indexedGroup(v string) (string, bool) {
	_, group, ok := strings.Cut(v, " ")
	return group, ok
}
