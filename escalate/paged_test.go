package escalate_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/escalate"
	"github.com/klaxonhq/klaxon/internal/fakeclock"
)

// TestPaged: the incidents that paged a user before a reply come latest
// page first; those that paged them only after it, or have a page to
// them in the outbox, come apart; the others are left out.
func TestPaged(t *testing.T) {
	reply := t0.Add(10 * time.Minute)
	sent := func(user string, at time.Duration) klaxon.Sent {
		return klaxon.Sent{User: user, Via: klaxon.ViaSMS, At: t0.Add(at)}
	}
	open := []*klaxon.Incident{
		{ID: "1", Sent: []klaxon.Sent{sent("alice", time.Minute)}},
		{ID: "2", Sent: []klaxon.Sent{sent("alice", 2*time.Minute), sent("alice", 20*time.Minute)}},
		{ID: "3", Sent: []klaxon.Sent{sent("bob", time.Minute)}},
		{ID: "4", Sent: []klaxon.Sent{sent("alice", 15*time.Minute)}},
		{ID: "5", Pending: []klaxon.Notification{{ID: 1, User: "alice", Via: klaxon.ViaSMS, Due: t0}}},
		{ID: "6", Sent: []klaxon.Sent{{User: "alice", Via: klaxon.ViaSMS}}}, // tried, never sent
		{ID: "7", Sent: []klaxon.Sent{sent("alice", 5*time.Minute)}},
	}
	ids := func(incs []*klaxon.Incident) []string {
		out := []string{}
		for _, inc := range incs {
			out = append(out, inc.ID)
		}
		return out
	}
	tests := []struct {
		name         string
		user         string
		paged, later []string
	}{
		{"alice", "alice", []string{"7", "2", "1"}, []string{"4", "5"}},
		{"bob", "bob", []string{"3"}, []string{}},
		{"nobody", "carol", []string{}, []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			paged, later := escalate.Paged(open, tt.user, reply)
			require.Equal(t, tt.paged, ids(paged))
			require.Equal(t, tt.later, ids(later))
		})
	}
}

// TestNewlyPaged: a commit names the users its incident has a page to,
// sent or in the outbox, that it had none to before, each once.
func TestNewlyPaged(t *testing.T) {
	pending := func(users ...string) []klaxon.Notification {
		var out []klaxon.Notification
		for i, u := range users {
			out = append(out, klaxon.Notification{ID: i + 1, User: u, Via: klaxon.ViaSMS})
		}
		return out
	}
	tests := []struct {
		name          string
		before, after *klaxon.Incident
		want          []string
	}{
		{"nothing paged", &klaxon.Incident{ID: "1"}, &klaxon.Incident{ID: "1"}, nil},
		{"a first page", &klaxon.Incident{ID: "1"}, &klaxon.Incident{ID: "1", Pending: pending("alice", "alice")}, []string{"alice"}},
		{"one more user", &klaxon.Incident{ID: "1", Pending: pending("alice")},
			&klaxon.Incident{ID: "1", Pending: pending("alice", "bob")}, []string{"bob"}},
		{"a page sent is not new", &klaxon.Incident{ID: "1", Pending: pending("alice")},
			&klaxon.Incident{ID: "1", Sent: []klaxon.Sent{{Notification: 1, User: "alice"}}}, nil},
		{"a user paged again after a sent page", &klaxon.Incident{ID: "1", Sent: []klaxon.Sent{{Notification: 1, User: "alice"}}},
			&klaxon.Incident{ID: "1", Sent: []klaxon.Sent{{Notification: 1, User: "alice"}}, Pending: pending("alice", "carol")}, []string{"carol"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var want []klaxon.Paging
			for _, u := range tt.want {
				want = append(want, klaxon.Paging{User: u, Incident: "1"})
			}
			require.Equal(t, want, escalate.NewlyPaged(tt.before, tt.after))
		})
	}
}

// TestPagedToEscalated: the users an escalation pages find the incident,
// those of the step before too, and nobody else.
func TestPagedToEscalated(t *testing.T) {
	clk := fakeclock.New(t0)
	st, _, e := newEngine(t, escalate.Options{Now: clk.Now})
	id := openIncident(t, st, twoSteps, t0)
	later := func(user string) []string {
		paged, later, err := e.PagedTo(t.Context(), user, clk.Now())
		require.NoError(t, err)
		require.Empty(t, paged, "nothing went out")
		out := []string{}
		for _, inc := range later {
			out = append(out, inc.ID)
		}
		return out
	}
	require.Equal(t, []string{}, later("alice"), "not paged yet")
	_, err := e.Escalate(t.Context(), id, klaxon.Actor{By: "ops", How: "api"})
	require.NoError(t, err)
	require.Equal(t, []string{id}, later("alice"), "step 1 pages alice")
	require.Equal(t, []string{}, later("bob"))
	_, err = e.Escalate(t.Context(), id, klaxon.Actor{By: "ops", How: "api"})
	require.NoError(t, err)
	require.Equal(t, []string{id}, later("bob"), "step 2 pages bob")
}
