package redis

import (
	"context"
	"errors"
	"fmt"

	"github.com/klaxonhq/klaxon"
	"github.com/redis/go-redis/v9"
)

// PagedIncidents lists the open incidents that paged user, newest first:
// the members of P:p:<user>, each read from its shard (P:id:<id>, then
// the header), in three round trips. On a cluster an entry is written
// ahead of its commit (writeAhead), so it is trusted only when the shard
// holds the incident open with a page to user.
//
// The entries of incidents closed, or that no shard holds, are removed
// (SREM) after the read; an error removing them is not the caller's. An
// incident that closed never opens again, and one that no shard holds is
// of a commit that did not land, whose ID is not handed out again: the
// engine pages only incidents that a commit before created.
func (s *Store) PagedIncidents(ctx context.Context, user string) ([]*klaxon.Incident, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("list incidents paged to %s: %w", user, err)
	}
	members, err := s.rdb.SMembers(ctx, s.pagedKey(user)).Result()
	if err != nil {
		return nil, fmt.Errorf("list incidents paged to %s: %w", user, classify(err))
	}
	if len(members) == 0 {
		return nil, nil
	}
	groups := make([]*redis.StringCmd, len(members))
	if _, err := s.pipelined(ctx, func(p redis.Pipeliner) {
		for i, id := range members {
			groups[i] = p.Get(ctx, s.idKey(id))
		}
	}); err != nil {
		return nil, fmt.Errorf("list incidents paged to %s: %w", user, classify(err))
	}
	var stale []any
	ids := make([]listed, 0, len(members))
	for i, g := range groups {
		if errors.Is(g.Err(), redis.Nil) {
			stale = append(stale, members[i])
			continue
		}
		ids = append(ids, listed{id: members[i], score: score(members[i]), tag: s.tag(g.Val())})
	}
	newestFirst(ids)
	headers, err := s.headers(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("list incidents paged to %s: %w", user, err)
	}
	var list []*klaxon.Incident
	for i, inc := range headers {
		switch {
		case inc == nil || !inc.State.Open():
			stale = append(stale, ids[i].id)
		case inc.Pages(user):
			list = append(list, inc)
		}
	}
	if len(stale) > 0 {
		_ = s.rdb.SRem(context.WithoutCancel(ctx), s.pagedKey(user), stale...).Err()
	}
	return list, nil
}

// indexOpen adds the pages of every open incident to the index: at the
// upgrade to layout 3, which brought it. Replicas that upgrade at once
// add the same members.
func (s *Store) indexOpen(ctx context.Context) error {
	open, err := s.Incidents(ctx, klaxon.IncidentFilter{})
	if err != nil {
		return err
	}
	_, err = s.pipelined(ctx, func(p redis.Pipeliner) {
		for _, inc := range open {
			for _, u := range inc.PagedUsers() {
				p.SAdd(ctx, s.pagedKey(u), inc.ID)
			}
		}
	})
	if err != nil {
		return classify(err)
	}
	return nil
}
