// Package incidenttest holds what the tests of commands on incidents
// share: an embedded store that can fail its commits and holds
// incidents as the engine stores them, and a rig of that store, a fake
// clock and the engine's commands.
package incidenttest

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/escalate"
	"github.com/klaxonhq/klaxon/internal/fakeclock"
	"github.com/klaxonhq/klaxon/store/embedded"
)

// Store is an embedded store whose next commits can be made to fail, as
// a store that cannot write fails.
type Store struct {
	*embedded.Store
	failures atomic.Int32
}

var _ klaxon.Store = (*Store)(nil)

// NewStore opens a store in a temporary directory, closed when the test
// ends.
func NewStore(t testing.TB) *Store {
	t.Helper()
	st, err := embedded.Open(filepath.Join(t.TempDir(), "klaxon.db"))
	if err != nil {
		t.Fatalf("incidenttest: open store: %v", err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return &Store{Store: st}
}

// FailCommits makes the next n commits fail with an error matching
// klaxon.ErrUnavailable.
func (s *Store) FailCommits(n int) { s.failures.Store(int32(n)) }

// Commit commits c, unless it is one of the commits to fail.
func (s *Store) Commit(ctx context.Context, c klaxon.Commit) error {
	if s.failures.Add(-1) >= 0 {
		return fmt.Errorf("commit: no space left on device: %w", klaxon.ErrUnavailable)
	}
	s.failures.Store(0)
	return s.Store.Commit(ctx, c)
}

// Policy pages alice, and re-triggers 30 minutes after an ack.
var Policy = klaxon.Policy{Name: "p", AckTimeout: 30 * time.Minute, Steps: []klaxon.Step{{Targets: []klaxon.Target{{Kind: klaxon.TargetUser, Name: "alice"}}}}}

// OpenIncident stores a triggered incident of group, created at at under
// Policy, with the pages sent, and returns its ID. The commit names the
// users paged, as the engine's do. Its summary is group
// + " is down", and its service label group.
func (s *Store) OpenIncident(t testing.TB, group string, at time.Time, sent ...klaxon.Sent) string {
	t.Helper()
	ctx := t.Context()
	id, err := s.NextIncidentID(ctx)
	if err != nil {
		t.Fatalf("incidenttest: %v", err)
	}
	inc := &klaxon.Incident{ID: id, Group: group, Summary: group + " is down", State: klaxon.StateTriggered, CreatedAt: at,
		Labels: map[string]string{"service": group}, Policy: Policy, Escalation: klaxon.Escalation{Step: 0}, Sent: sent, Seq: len(sent)}
	err = klaxon.Update(ctx, s, group, nil, func(klaxon.Group) (*klaxon.Commit, error) {
		return &klaxon.Commit{Open: id, Incidents: []*klaxon.Incident{inc}, Paged: escalate.NewlyPaged(&klaxon.Incident{}, inc)}, nil
	})
	if err != nil {
		t.Fatalf("incidenttest: open incident of %s: %v", group, err)
	}
	return id
}

// UpdateIncident changes open incident id as the engine would, naming
// the users it newly pages.
func (s *Store) UpdateIncident(t testing.TB, id string, fn func(*klaxon.Incident)) {
	t.Helper()
	ctx := t.Context()
	stored := s.ReadIncident(t, id)
	err := klaxon.Update(ctx, s, stored.Group, nil, func(g klaxon.Group) (*klaxon.Commit, error) {
		inc := g.Open.Header()
		fn(inc)
		return &klaxon.Commit{Open: id, Incidents: []*klaxon.Incident{inc}, Paged: escalate.NewlyPaged(g.Open, inc)}, nil
	})
	if err != nil {
		t.Fatalf("incidenttest: update incident %s: %v", id, err)
	}
}

// CountEvents counts the events of incident id's timeline (its first
// 1,000) that keep says.
func (s *Store) CountEvents(t testing.TB, id string, keep func(klaxon.Event) bool) int {
	t.Helper()
	events, _, err := s.Timeline(t.Context(), id, 0, 1000)
	if err != nil {
		t.Fatalf("incidenttest: read the timeline of incident %s: %v", id, err)
	}
	n := 0
	for _, ev := range events {
		if keep(ev) {
			n++
		}
	}
	return n
}

// ReadIncident reads incident id.
func (s *Store) ReadIncident(t testing.TB, id string) *klaxon.Incident {
	t.Helper()
	inc, err := s.Incident(t.Context(), id)
	if err != nil {
		t.Fatalf("incidenttest: read incident %s: %v", id, err)
	}
	return inc
}

// Rig is a Store on a fake clock with the real engine's commands on it,
// paging nobody: what the tests of the API and of Twilio's callbacks act
// through.
type Rig struct {
	Store  *Store
	Clock  *fakeclock.Clock
	Engine *escalate.Engine
}

// NewRig returns a rig whose clock reads at.
func NewRig(t testing.TB, at time.Time) *Rig {
	t.Helper()
	st := NewStore(t)
	c := fakeclock.New(at)
	return &Rig{Store: st, Clock: c, Engine: NewEngine(st, c.Now)}
}

// NewEngine returns the real engine over st, on the clock now, paging
// nobody, whose directory knows every user ID: the rig's, over a store
// a test wraps (to hold a read, or to act in the middle of one).
func NewEngine(st klaxon.Store, now func() time.Time) *escalate.Engine {
	return escalate.New(st, nobody{}, func() escalate.Directory { return directory{} }, slog.New(slog.DiscardHandler), escalate.Options{Now: now})
}

// Open stores a triggered incident of group, now, with the pages sent.
func (r *Rig) Open(t testing.TB, group string, sent ...klaxon.Sent) string {
	t.Helper()
	return r.Store.OpenIncident(t, group, r.Clock.Now(), sent...)
}

// Update changes incident id with fn, as a commit would.
func (r *Rig) Update(t testing.TB, id string, fn func(*klaxon.Incident)) {
	t.Helper()
	r.Store.UpdateIncident(t, id, fn)
}

// Incident reads incident id.
func (r *Rig) Incident(t testing.TB, id string) *klaxon.Incident {
	t.Helper()
	return r.Store.ReadIncident(t, id)
}

// directory knows every user ID as a user with no contact, and no
// schedule.
type directory struct{}

func (directory) User(id string) (klaxon.User, bool) { return klaxon.User{ID: id}, id != "" }
func (directory) OnCall(_ context.Context, name string, _ time.Time) ([]string, error) {
	return nil, fmt.Errorf("schedule %s: %w", name, klaxon.ErrNotFound)
}
func (directory) Fallback() []string { return nil }

// nobody is a notifier that pages nobody.
type nobody struct{}

func (nobody) Notify(context.Context, klaxon.Page) error { return nil }
