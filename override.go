package klaxon

import (
	"context"
	"time"
)

// Override puts User on call in Schedule from From until To, over whoever
// the schedule's layers have. Runtime overrides are kept in the store, not
// in git, and expire by themselves.
type Override struct {
	ID       string    `json:"id"`
	Schedule string    `json:"schedule"`
	User     string    `json:"user"`
	From     time.Time `json:"from"`
	To       time.Time `json:"to"`
	By       string    `json:"created_by,omitempty"`
}

// OverrideStore keeps runtime overrides.
type OverrideStore interface {
	// PutOverride stores o under a new ID and returns it. Overrides that
	// ended by now are dropped meanwhile; those running or to come stay.
	PutOverride(ctx context.Context, o Override, now time.Time) (Override, error)
	// Overrides lists the overrides of schedule ("" for every schedule)
	// that have not ended at now, by start time.
	Overrides(ctx context.Context, schedule string, now time.Time) ([]Override, error)
	// DeleteOverride removes one override; ErrNotFound if there is none.
	DeleteOverride(ctx context.Context, schedule, id string) error
}
