package redis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/store/internal/alertrecord"
	"github.com/klaxonhq/klaxon/store/internal/incidentv1"
	"github.com/redis/go-redis/v9"
)

// The key layout versions under a prefix:
//
//	1  an incident is one JSON document with its alerts and timeline
//	   (T:i:<id> j); there is no P:layout key.
//	2  an incident is a header (T:i:<id> j), its alerts one record each
//	   (T:i:<id>:a) and its timeline a list (T:i:<id>:e).
//	3  an index of pages by user (P:p:<user>), which the commits that page
//	   write: a Klaxon of layout 2 would page without it, and replies
//	   would miss those incidents. The upgrade indexes the pages of the
//	   open incidents.
//	4  an alert's record (T:i:<id>:a) may be a seen record that carries
//	   the digest of its details record, kept apart (T:i:<id>:d) and
//	   written only when it changes: a Klaxon of layout 3 would not read
//	   it. The whole records of layout 3 are read as they are, and each
//	   is kept apart when its alert next changes: the upgrade rewrites
//	   nothing.
//
// Open upgrades the keys of an older layout in place, incident by
// incident, each in one script, then indexes the pages of the open
// incidents, and refuses a newer layout than it knows.
// Replicas that start together may upgrade at once: each incident is
// rewritten once (upgrade.lua checks that it is still as read).
const layout = 4

func (s *Store) upgrade(ctx context.Context) error {
	v, err := s.rdb.Get(ctx, s.layoutKey()).Result()
	switch {
	case errors.Is(err, redis.Nil):
		v = "1"
	case err != nil:
		return fmt.Errorf("read layout: %w", classify(err))
	}
	have, err := strconv.Atoi(v)
	if err != nil {
		return fmt.Errorf("layout %q under prefix %s: not a number", v, s.prefix)
	}
	switch {
	case have > layout:
		return fmt.Errorf("prefix %s has key layout %d, written by a newer Klaxon; this one reads layouts up to %d: run the newer version, or restore a backup taken before it ran", s.prefix, have, layout)
	case have == layout:
		return nil
	}
	// Every layout-1 incident took its ID from the counter: without it
	// there is nothing to upgrade, and a new prefix costs no scan.
	used, err := s.rdb.Exists(ctx, s.seqKey()).Result()
	if err != nil {
		return fmt.Errorf("read layout: %w", classify(err))
	}
	if used > 0 && have < 2 {
		if err := s.upgrade1(ctx); err != nil {
			return fmt.Errorf("upgrade key layout 1 to 2: %w", err)
		}
	}
	if used > 0 && have < 3 {
		if err := s.indexOpen(ctx); err != nil {
			return fmt.Errorf("upgrade key layout %d to 3: index pages: %w", have, err)
		}
	}
	if err := s.rdb.Set(ctx, s.layoutKey(), layout, 0).Err(); err != nil {
		return fmt.Errorf("record layout: %w", classify(err))
	}
	return nil
}

// upgrade1 rewrites every incident of layout 1, shard by shard.
func (s *Store) upgrade1(ctx context.Context) error {
	states := []klaxon.State{klaxon.StateTriggered, klaxon.StateAcknowledged, klaxon.StateResolved}
	for _, tag := range s.tags {
		var ids []string
		for _, st := range states {
			list, err := s.rdb.ZRange(ctx, stateKey(tag, st), 0, -1).Result()
			if err != nil {
				return classify(err)
			}
			ids = append(ids, list...)
		}
		for _, id := range ids {
			if err := s.upgradeIncident(ctx, tag, id); err != nil {
				return fmt.Errorf("incident %s: %w", id, err)
			}
		}
	}
	return nil
}

func (s *Store) upgradeIncident(ctx context.Context, tag, id string) error {
	body, err := s.rdb.HGet(ctx, incidentKey(tag, id), "j").Result()
	if errors.Is(err, redis.Nil) {
		return nil
	}
	if err != nil {
		return classify(err)
	}
	if !incidentv1.Is([]byte(body)) {
		return nil // upgraded already, by this or another replica
	}
	inc, err := incidentv1.Decode([]byte(body))
	if err != nil {
		return err
	}
	header, err := json.Marshal(inc)
	if err != nil {
		return fmt.Errorf("encode header: %w", err)
	}
	args := []any{body, header, len(inc.Changed)}
	for i := range inc.Changed {
		a, err := alertrecord.Encode(nil, &inc.Changed[i])
		if err != nil {
			return err
		}
		args = append(args, inc.Changed[i].Key, a)
	}
	for i := range inc.Recorded {
		e, err := json.Marshal(&inc.Recorded[i])
		if err != nil {
			return fmt.Errorf("encode event: %w", err)
		}
		args = append(args, e)
	}
	keys := []string{incidentKey(tag, id), incidentAlertsKey(tag, id), timelineKey(tag, id)}
	if err := upgradeScript.Run(ctx, s.rdb, keys, args...).Err(); err != nil {
		return classify(err)
	}
	return nil
}
