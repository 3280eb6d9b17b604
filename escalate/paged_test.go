package escalate_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/escalate"
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
