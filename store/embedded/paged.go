package embedded

import (
	"bytes"
	"context"
	"fmt"
	"slices"

	"github.com/klaxonhq/klaxon"
)

// pagedPrefix is where the index entries of user's pages start in
// bucketPaged: the user, then a zero byte.
func pagedPrefix(user string) []byte {
	return append([]byte(user), 0)
}

// pagedKey is the entry of incident id under user: pagedPrefix, then
// the incident's key, so that a user's entries walk in incident order.
func pagedKey(user, id string) []byte {
	return append(pagedPrefix(user), incidentKey(id)...)
}

// indexPaged writes the entries of paged, in the transaction of the
// commit that pages them. An entry is written only when it is not there:
// a Put, even of what is there, rewrites the page.
func indexPaged(tx *txn, paged []klaxon.Paging) error {
	if len(paged) == 0 {
		return nil
	}
	b := tx.Bucket(bucketPaged)
	for _, p := range paged {
		k := pagedKey(p.User, p.Incident)
		if b.Get(k) != nil {
			continue
		}
		if err := b.Put(k, []byte{}); err != nil {
			return fmt.Errorf("index page of incident %s to %s: %w", p.Incident, p.User, err)
		}
	}
	return nil
}

// PagedIncidents lists the open incidents that paged user, newest
// first, from the entries under user in bucketPaged. The entries of
// incidents no longer open are dropped after the read, in a write of
// their own whose failure the caller does not see.
func (s *Store) PagedIncidents(ctx context.Context, user string) ([]*klaxon.Incident, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("list incidents paged to %s: %w", user, err)
	}
	prefix := pagedPrefix(user)
	var list []*klaxon.Incident
	var stale [][]byte
	// listChunk entries a read (inChunks): a storm's person paged for a
	// thousand incidents does not hold up the writer for them all.
	from := prefix
	err := s.inChunks(ctx, func(tx *txn) (bool, error) {
		headers, open := tx.Bucket(bucketIncidents), tx.Bucket(bucketOpen)
		c := tx.Bucket(bucketPaged).Cursor()
		k, _ := c.Seek(from)
		if !bytes.Equal(from, prefix) && bytes.Equal(k, from) {
			k, _ = c.Next() // read by the chunk before
		}
		for n := 0; k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			if n == listChunk {
				return false, nil
			}
			n++
			from = bytes.Clone(k)
			incKey := k[len(prefix):]
			if open.Get(incKey) == nil {
				stale = append(stale, bytes.Clone(k))
				continue
			}
			inc, err := decodeIncident(headers.Get(incKey))
			if err != nil {
				return false, fmt.Errorf("incident %s: %w", incKey[1:], err)
			}
			if inc.Pages(user) {
				list = append(list, inc)
			}
		}
		return true, nil
	})
	if err != nil {
		return nil, fmt.Errorf("list incidents paged to %s: %w", user, err)
	}
	slices.Reverse(list)
	if len(stale) > 0 {
		_ = s.update(ctx, true, func(tx *txn) error { return dropPaged(tx, prefix, stale) })
	}
	return list, nil
}

// dropPaged deletes the entries stale whose incidents are still not
// open: an incident that closed never opens again.
func dropPaged(tx *txn, prefix []byte, stale [][]byte) error {
	b, open := tx.Bucket(bucketPaged), tx.Bucket(bucketOpen)
	for _, k := range stale {
		if open.Get(k[len(prefix):]) != nil {
			continue
		}
		if err := b.Delete(k); err != nil {
			return fmt.Errorf("drop page entry: %w", err)
		}
	}
	return nil
}

// indexOpen writes the entries of the pages of every open incident, from
// their headers: at the upgrade to layout 5, which brought the index.
func indexOpen(tx *txn) error {
	headers := tx.Bucket(bucketIncidents)
	var paged []klaxon.Paging
	err := tx.Bucket(bucketOpen).ForEach(func(k, _ []byte) error {
		inc, err := decodeIncident(headers.Get(k))
		if err != nil {
			return fmt.Errorf("incident %s: %w", k[1:], err)
		}
		for _, u := range inc.PagedUsers() {
			paged = append(paged, klaxon.Paging{User: u, Incident: inc.ID})
		}
		return nil
	})
	if err != nil {
		return err
	}
	return indexPaged(tx, paged)
}
