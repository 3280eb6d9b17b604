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

// Check reports what is wrong with o as a new runtime override at now,
// as a *FieldError: a user that known does not know, a missing or
// reversed window, one already over, or one longer than bound (the
// api.max_override setting).
func (o Override) Check(now time.Time, bound time.Duration, known func(user string) bool) error {
	switch {
	case o.User == "":
		return Invalid("user", "is required")
	case !known(o.User):
		return Invalid("user", "no user %q", o.User)
	case o.From.IsZero() || o.To.IsZero():
		return Invalid("from", "from and to are required")
	case !o.To.After(o.From):
		return Invalid("to", "must be after from")
	case !o.To.After(now):
		return Invalid("to", "is in the past")
	case o.To.Sub(o.From) > bound:
		return Invalid("to", "an override lasts at most %s (api.max_override), this one %s: change the schedule's YAML instead", Span(bound), Span(o.To.Sub(o.From).Round(time.Hour)))
	}
	return nil
}

// Maintenance is a maintenance window set at runtime (the API, klaxon
// maintenance start): alerts that match its Matchers (Alertmanager's
// syntax) from From until To are recorded and page nobody until it ends.
type Maintenance struct {
	ID       string    `json:"id"`
	Matchers []string  `json:"matchers"`
	From     time.Time `json:"from"`
	To       time.Time `json:"to"`
	By       string    `json:"created_by,omitempty"`
	Comment  string    `json:"comment,omitempty"`
}

// MaintenanceStore keeps runtime maintenance windows.
type MaintenanceStore interface {
	// PutMaintenance stores m under a new ID and returns it; windows that
	// ended by now are dropped meanwhile.
	PutMaintenance(ctx context.Context, m Maintenance, now time.Time) (Maintenance, error)
	// Maintenances lists the windows not ended at now, by start.
	Maintenances(ctx context.Context, now time.Time) ([]Maintenance, error)
	// EndMaintenance removes window id; ErrNotFound if there is none.
	EndMaintenance(ctx context.Context, id string) error
}
