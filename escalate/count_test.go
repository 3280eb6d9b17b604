package escalate_test

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/escalate"
	"github.com/klaxonhq/klaxon/internal/fakeclock"
	"github.com/klaxonhq/klaxon/store/embedded"
	"github.com/klaxonhq/klaxon/telemetry"
)

// stale is a store whose next read of an incident returns what it held
// before: the command read it just before another one changed it.
type stale struct {
	klaxon.Store
	before *klaxon.Incident
}

func (s *stale) Incident(ctx context.Context, id string) (*klaxon.Incident, error) {
	if b := s.before; b != nil {
		s.before = nil
		return b, nil
	}
	return s.Store.Incident(ctx, id)
}

// TestAcknowledgedCountedOnce: two acknowledgements that read the
// incident triggered (an SMS reply and a mail link at once) count one:
// the second finds it acknowledged already and changes nothing.
func TestAcknowledgedCountedOnce(t *testing.T) {
	st, err := embedded.Open(filepath.Join(t.TempDir(), "k.db"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	reg := prometheus.NewRegistry()
	shared := telemetry.NewMetrics(reg)
	s := &stale{Store: st}
	clk := fakeclock.New(t0)
	e := escalate.New(s, &phone{}, func() escalate.Directory { return directory{"alice": alice} }, slog.New(slog.DiscardHandler),
		escalate.Options{Now: clk.Now, Shared: shared})
	id := openIncident(t, st, twoSteps, t0)
	before, err := st.Incident(t.Context(), id)
	require.NoError(t, err)

	_, err = e.Acknowledge(t.Context(), id, klaxon.Actor{By: "alice", How: "sms"})
	require.NoError(t, err)
	s.before = before // the second read the incident before the first landed
	inc, err := e.Acknowledge(t.Context(), id, klaxon.Actor{By: "alice", How: "email"})
	require.NoError(t, err)
	require.Equal(t, klaxon.StateAcknowledged, inc.State)

	families, err := reg.Gather()
	require.NoError(t, err)
	seen := map[string]bool{}
	for _, f := range families {
		switch f.GetName() {
		case "klaxon_incidents_acknowledged_total":
			require.Equal(t, 1.0, f.GetMetric()[0].GetCounter().GetValue(), "acknowledged once")
		case "klaxon_time_to_acknowledge_seconds":
			require.Equal(t, uint64(1), f.GetMetric()[0].GetHistogram().GetSampleCount(), "timed once")
		default:
			continue
		}
		seen[f.GetName()] = true
	}
	require.Len(t, seen, 2, "both series counted: %v", seen)
}
