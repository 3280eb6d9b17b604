package klaxon

import (
	"errors"
	"fmt"
	"time"
)

// Sentinel errors. Callers test with errors.Is; the HTTP edge maps each to
// one status code.
var (
	ErrNotFound     = errors.New("not found")
	ErrConflict     = errors.New("conflict")
	ErrInvalid      = errors.New("invalid")
	ErrUnauthorized = errors.New("unauthorized")
	ErrTooLarge     = errors.New("too large")
	ErrUnavailable  = errors.New("unavailable")
	// ErrUsed is an act that may happen once (Actor.Once) and did.
	ErrUsed = errors.New("used already")
	// ErrOutdated is an act that answers a page (Actor.Page) sent
	// before its incident triggered again.
	ErrOutdated = errors.New("outdated")
)

// FieldError is bad input: which field, and what was wrong with it.
// It matches ErrInvalid.
type FieldError struct {
	Field string
	Msg   string
}

// Invalid returns a FieldError for field.
func Invalid(field, format string, args ...any) *FieldError {
	return &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

func (e *FieldError) Error() string {
	if e.Field == "" {
		return e.Msg
	}
	return e.Field + ": " + e.Msg
}

// Is makes errors.Is(err, ErrInvalid) true for a FieldError.
func (e *FieldError) Is(target error) bool { return target == ErrInvalid }

// ConflictError is an act that the incident's state refuses, saying
// why in words a person reads. It matches ErrConflict.
type ConflictError struct{ Msg string }

// Conflict returns a ConflictError.
func Conflict(format string, args ...any) *ConflictError {
	return &ConflictError{Msg: fmt.Sprintf(format, args...)}
}

func (e *ConflictError) Error() string { return e.Msg }

// Is makes errors.Is(err, ErrConflict) true for a ConflictError.
func (e *ConflictError) Is(target error) bool { return target == ErrConflict }

// DeferredError is a page a channel holds back until Until, to keep to a
// rate limit: it stays due, and goes out then, perhaps in a bundle.
type DeferredError struct{ Until time.Time }

func (e *DeferredError) Error() string {
	return "deferred until " + e.Until.UTC().Format(time.RFC3339)
}

// ErrBundled says a page already went out inside a bundle of several.
var ErrBundled = errors.New("sent in a bundle")

// WaitOf is how long err asks its sender to wait before trying again: a
// provider's Retry-After, which a channel's error gives through a
// Wait() time.Duration method; 0 when it does not say.
func WaitOf(err error) time.Duration {
	var w interface{ Wait() time.Duration }
	if errors.As(err, &w) {
		return max(w.Wait(), 0)
	}
	return 0
}
