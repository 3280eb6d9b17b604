package embedded

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"math"
	"time"

	"github.com/klaxonhq/klaxon"
)

// unleased is the lease end of a timer nobody holds.
const unleased = math.MinInt64

// Claim leases up to limit timers that are due at now and not leased, in
// order of due time, until now+lease. next is the earliest time a later
// Claim could return a timer other than those returned now: a due time or
// the end of a lease, zero when there is none. Claim walks the due index
// from its start, so it reads the due and leased timers, not every timer.
// It looks first without writing, so a poll when nothing is due writes
// nothing and waits for no write; a claim is an urgent write, ahead of
// ingest's.
func (s *Store) Claim(ctx context.Context, now time.Time, lease time.Duration, limit int) (due []klaxon.Timer, next time.Time, err error) {
	if err := ctx.Err(); err != nil {
		return nil, time.Time{}, fmt.Errorf("claim timers: %w", err)
	}
	if limit < 1 || lease <= 0 {
		return nil, time.Time{}, fmt.Errorf("claim timers: max %d, lease %s: %w", limit, lease, klaxon.ErrInvalid)
	}
	at, until := now.UnixNano(), now.Add(lease).UnixNano()
	var ready bool
	err = s.peek(func(tx *txn) error {
		var keys [][]byte
		keys, _, next = scanDue(tx, at, limit)
		ready = len(keys) > 0
		return nil
	})
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("claim timers: %w", err)
	}
	if !ready {
		return nil, next, nil
	}
	err = s.update(ctx, true, func(tx *txn) error {
		var keys [][]byte
		keys, due, next = scanDue(tx, at, limit)
		token := rand.Text()
		b, claims := tx.Bucket(bucketDue), tx.Bucket(bucketClaims)
		for i, k := range keys {
			due[i].Claim = token
			if err := b.Put(k, dueValue(until, due[i].Group)); err != nil {
				return fmt.Errorf("claim timer %s: %w", due[i].Incident, err)
			}
			if err := claims.Put([]byte(due[i].Incident), claimValue(until, token)); err != nil {
				return fmt.Errorf("claim timer %s: %w", due[i].Incident, err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("claim timers: %w", err)
	}
	return due, next, nil
}

// scanDue finds up to limit timers ready at at (due and not leased), with
// their keys in the due index, and the earliest time another one is ready.
func scanDue(tx *txn, at int64, limit int) (keys [][]byte, due []klaxon.Timer, next time.Time) {
	nextAt, found := int64(0), false
	c := tx.Bucket(bucketDue).Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		dueAt := getTime(k[:8])
		if found && dueAt >= nextAt {
			break // every later timer is due at nextAt or later
		}
		ready := max(dueAt, getTime(v[:8]))
		if ready <= at && len(keys) < limit {
			keys = append(keys, bytes.Clone(k))
			due = append(due, klaxon.Timer{
				Incident: string(k[8:]),
				Group:    string(v[8:]),
				Due:      time.Unix(0, dueAt).UTC(),
			})
			continue
		}
		if !found || ready < nextAt {
			nextAt, found = ready, true
		}
	}
	if found {
		next = time.Unix(0, nextAt).UTC()
	}
	return keys, due, next
}

// Renew extends until now+lease the claims on timers still held with
// their tokens, and returns the incidents of the others.
func (s *Store) Renew(ctx context.Context, now time.Time, lease time.Duration, timers []klaxon.Timer) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("renew claims: %w", err)
	}
	if lease <= 0 {
		return nil, fmt.Errorf("renew claims: lease %s: %w", lease, klaxon.ErrInvalid)
	}
	if len(timers) == 0 {
		return nil, nil
	}
	var lost []string
	err := s.update(ctx, true, func(tx *txn) error {
		lost = lost[:0]
		claims := tx.Bucket(bucketClaims)
		for _, t := range timers {
			end, token, ok := getClaim(claims, t.Incident)
			if !ok || t.Claim == "" || token != t.Claim {
				lost = append(lost, t.Incident)
				continue
			}
			// A lease never shrinks: a renewal from a clock behind keeps its end.
			until := max(end, now.Add(lease).UnixNano())
			if err := claims.Put([]byte(t.Incident), claimValue(until, token)); err != nil {
				return fmt.Errorf("renew claim %s: %w", t.Incident, err)
			}
			at := tx.Bucket(bucketTimers).Get([]byte(t.Incident))
			if at == nil {
				continue // cancelled by another commit: the claim outlives it
			}
			key := append(append([]byte(nil), at...), t.Incident...)
			due := tx.Bucket(bucketDue)
			if v := due.Get(key); len(v) >= 8 {
				if err := due.Put(key, dueValue(until, string(v[8:]))); err != nil {
					return fmt.Errorf("renew claim %s: %w", t.Incident, err)
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("renew claims: %w", err)
	}
	return lost, nil
}

// setTimer replaces the timer of t.Incident. A claim on it stays, unless
// claim is its token: then the commit that sets the timer releases it.
func setTimer(tx *txn, t klaxon.Timer, claim string) error {
	if err := cancelTimer(tx, t.Incident, claim); err != nil {
		return err
	}
	leaseEnd := int64(unleased)
	if end, _, ok := getClaim(tx.Bucket(bucketClaims), t.Incident); ok {
		leaseEnd = end
	}
	key := make([]byte, 8, 8+len(t.Incident))
	putTime(key, t.Due.UnixNano())
	key = append(key, t.Incident...)
	if err := tx.Bucket(bucketDue).Put(key, dueValue(leaseEnd, t.Group)); err != nil {
		return fmt.Errorf("set timer %s: %w", t.Incident, err)
	}
	if err := tx.Bucket(bucketTimers).Put([]byte(t.Incident), key[:8]); err != nil {
		return fmt.Errorf("set timer %s: %w", t.Incident, err)
	}
	return nil
}

// cancelTimer removes the timer of an incident, if it has one, and
// releases its claim when claim is the claim's token.
func cancelTimer(tx *txn, incident, claim string) error {
	claims := tx.Bucket(bucketClaims)
	if _, token, ok := getClaim(claims, incident); ok && claim != "" && token == claim {
		if err := claims.Delete([]byte(incident)); err != nil {
			return fmt.Errorf("release claim %s: %w", incident, err)
		}
	}
	timers := tx.Bucket(bucketTimers)
	at := timers.Get([]byte(incident))
	if at == nil {
		return nil
	}
	key := append(append([]byte(nil), at...), incident...)
	if err := tx.Bucket(bucketDue).Delete(key); err != nil {
		return fmt.Errorf("cancel timer %s: %w", incident, err)
	}
	if err := timers.Delete([]byte(incident)); err != nil {
		return fmt.Errorf("cancel timer %s: %w", incident, err)
	}
	return nil
}

// releaseClaims ends every claim the file holds. Open calls it: the file
// is locked to one process, so whoever held them stopped (a crash, a
// kill -9), and the pages they left go out at once, not once their
// leases end.
func releaseClaims(tx *txn) error {
	claims, timers, due := tx.Bucket(bucketClaims), tx.Bucket(bucketTimers), tx.Bucket(bucketDue)
	var held [][]byte
	if err := claims.ForEach(func(k, _ []byte) error {
		held = append(held, bytes.Clone(k))
		return nil
	}); err != nil {
		return err
	}
	for _, incident := range held {
		if at := timers.Get(incident); at != nil {
			key := append(bytes.Clone(at), incident...)
			if v := due.Get(key); len(v) >= 8 {
				if err := due.Put(key, dueValue(0, string(v[8:]))); err != nil {
					return fmt.Errorf("release claim %s: %w", incident, err)
				}
			}
		}
		if err := claims.Delete(incident); err != nil {
			return fmt.Errorf("release claim %s: %w", incident, err)
		}
	}
	return nil
}

// dueValue is a due index entry: the lease end, then the group.
func dueValue(leaseEnd int64, group string) []byte {
	v := make([]byte, 8, 8+len(group))
	putTime(v, leaseEnd)
	return append(v, group...)
}

// claimValue is a claims entry: the lease end, then the claim token.
func claimValue(leaseEnd int64, token string) []byte {
	v := make([]byte, 8, 8+len(token))
	putTime(v, leaseEnd)
	return append(v, token...)
}

// getClaim reads the claim on an incident's timer, if one is held.
func getClaim(claims *bucket, incident string) (end int64, token string, ok bool) {
	v := claims.Get([]byte(incident))
	if len(v) < 8 {
		return 0, "", false
	}
	return getTime(v[:8]), string(v[8:]), true
}
