package slack

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
)

// TestThreaded: a page's try that will be tried again gets no thread
// reply (a provider's outage would make one a page every backoff); a
// page sent, a page that failed for good and a step do.
func TestThreaded(t *testing.T) {
	for _, tc := range []struct {
		ev   klaxon.Event
		want bool
	}{
		{klaxon.Event{Kind: klaxon.EventPageFailed, How: klaxon.HowRetry}, false},
		{klaxon.Event{Kind: klaxon.EventPageFailed}, true},
		{klaxon.Event{Kind: klaxon.EventPageSent}, true},
		{klaxon.Event{Kind: klaxon.EventEscalated}, true},
		{klaxon.Event{Kind: klaxon.EventAlertJoined}, false},
	} {
		require.Equal(t, tc.want, threaded(tc.ev), "%s %s", tc.ev.Kind, tc.ev.How)
	}
}
