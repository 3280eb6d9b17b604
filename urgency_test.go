package klaxon

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestUrgencyOf: a severity pages at high urgency when it is critical,
// error or page, written in any case (Grafana's and Alertmanager's rules
// often say Critical); anything else is low.
func TestUrgencyOf(t *testing.T) {
	for sev, want := range map[string]Urgency{
		"critical": UrgencyHigh, "Critical": UrgencyHigh, "CRITICAL": UrgencyHigh,
		"error": UrgencyHigh, "Error": UrgencyHigh, "page": UrgencyHigh, "PAGE": UrgencyHigh,
		"warning": UrgencyLow, "Warning": UrgencyLow, "info": UrgencyLow, "": UrgencyLow, "crit": UrgencyLow,
	} {
		require.Equal(t, want, UrgencyOf(sev), "%q", sev)
	}
}
