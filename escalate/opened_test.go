package escalate_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon/escalate"
	"github.com/klaxonhq/klaxon/internal/fakeclock"
)

// A page says when its incident opened: the mail channel names the
// incident's thread, and each page's Message-ID, by it, so that a new #1
// after a store reset is not threaded with the old one, and a page's
// mail tried again by the engine keeps its Message-ID.
func TestPageSaysWhenItsIncidentOpened(t *testing.T) {
	clk := fakeclock.New(t0)
	st, ph, e := newEngine(t, escalate.Options{Now: clk.Now})
	id := openIncident(t, st, twoSteps, t0)
	clk.Set(t0.Add(time.Minute))
	_, err := e.RunOnce(t.Context())
	require.NoError(t, err)

	inc, err := st.Incident(t.Context(), id)
	require.NoError(t, err)
	require.False(t, inc.CreatedAt.IsZero())
	ph.mu.Lock()
	defer ph.mu.Unlock()
	require.NotEmpty(t, ph.pages)
	for _, p := range ph.pages {
		require.True(t, p.Opened.Equal(inc.CreatedAt), "%s/%s: opened %v, incident created %v", p.User.ID, p.Via, p.Opened, inc.CreatedAt)
	}
}
