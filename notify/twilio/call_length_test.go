package twilio

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestMaxCallCoversTheLongestCall: MaxCall, the most a person is taken to
// be on a call whose end is not reported here, is no shorter than the
// longest page call: Twilio may ring 5 seconds past the Timeout asked
// ("For some call flows, we will add a 5-second buffer to the timeout
// value you provide"), and TimeLimit counts once it is answered. Shorter,
// the person's next call would be placed over it, ring busy and count as
// not reached.
func TestMaxCallCoversTheLongestCall(t *testing.T) {
	require.GreaterOrEqual(t, MaxCall, callRing+5*time.Second+callTimeLimit)
}
