package klaxontest

import (
	"net"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestStartOnAddressTakenMeanwhile: the address Start picked free is
// taken by another process before Klaxon listens on it (a CI run failed
// so: "listen tcp 127.0.0.1:45087: bind: address already in use", while
// other packages' tests started servers). Start picks another address,
// and Klaxon serves there, its public URL with it.
func TestStartOnAddressTakenMeanwhile(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer taken.Close()
	var picked []string
	pickAddr = func(t *testing.T) string {
		addr := taken.Addr().String() // as if another process took it after FreeAddr
		if len(picked) > 0 {
			addr = FreeAddr(t)
		}
		picked = append(picked, addr)
		return addr
	}
	t.Cleanup(func() { pickAddr = FreeAddr })

	h := Start(t, Config{
		Policies: []Policy{{Name: "default", Steps: []Step{{Targets: []string{"user:alice"}}}}},
		Users:    []User{{ID: "alice", Phone: "+15550100001", Notify: []Rule{SMS(0)}}},
	})
	require.Len(t, picked, 2, "a second address once the first was taken")
	require.Equal(t, "http://"+picked[1], h.URL)
	code, _ := h.Do(http.MethodGet, "/v1/incidents", nil)
	require.Equal(t, http.StatusOK, code)
}
