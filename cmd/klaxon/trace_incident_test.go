package main

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestTraceOfADeliveryNamesItsIncident: the commit of a webhook delivery
// says which incident its alerts went to, as the page's span does, so
// that a search of the traces by klaxon.incident finds the request that
// opened an incident, and every request that added to it, as well as
// its pages.
func TestTraceOfADeliveryNamesItsIncident(t *testing.T) {
	recv, tr, base, stop := tracedServe(t, writeConfig(t, 1e9))
	postTraced(t, base, traceID)
	id := findIncident(t, base, "HighErrorRate").ID
	const again = "5bf92f3577b34da6a3ce929d0e0e4737"
	postTraced(t, base, again) // the same alerts again: deduplicated into the incident
	stop()
	require.NoError(t, tr.Shutdown(t.Context()), "the spans are flushed")
	commits := map[string]string{} // by trace, the commit's incident
	for _, s := range recv.Spans() {
		if s.Name == "ingest.commit" {
			commits[s.TraceID] = s.Attributes["klaxon.incident"]
		}
	}
	require.Equal(t, map[string]string{traceID: id, again: id}, commits, "%v", recv.Spans())
}
