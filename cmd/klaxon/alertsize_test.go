package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestAlertSizeIsBounded: what one alert holds, and so what each alert
// of a page of GET /v1/incidents/{id} and .../alerts weighs, is bounded,
// as each of its labels and annotations is. The bounds cut each value
// (4 KiB a label, 16 KiB an annotation) but not how many there are: an
// alert of 1,000 annotations of 16 KiB (one 16 MB webhook body, within
// its 32 MiB) is kept whole, and served whole to every reader. Live,
// five of them made GET /v1/incidents/{id} (the default page of 100
// alerts) answer 80,078,787 bytes, built in memory before it is sent
// (the server's RSS rose by 264 MB for one request); a default page of
// 100 such alerts is 1.6 GB for one GET, and the console's page of the
// incident decodes 50 of them.
func TestAlertSizeIsBounded(t *testing.T) {
	base, _, _ := startServe(t, writeConfig(t, time.Hour))
	const most = 1 << 20 // an alert's JSON, generous
	tests := []struct {
		name  string
		field string // labels or annotations
		value int    // bytes a value, at its bound
	}{
		{"1,000 annotations of 16 KiB", "annotations", 16 << 10},
		{"1,000 labels of 4 KiB", "labels", 4 << 10},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			alertname := fmt.Sprintf("Fat%d", i)
			labels := map[string]string{"alertname": alertname, "service": "fat", "severity": "critical"}
			annotations := map[string]string{"summary": "fat"}
			extra := map[string]map[string]string{"labels": labels, "annotations": annotations}[tt.field]
			for k := range 1000 {
				extra[fmt.Sprintf("x%04d", k)] = strings.Repeat("v", tt.value)
			}
			body, err := json.Marshal(map[string]any{"version": "4", "status": "firing", "receiver": "klaxon", "groupKey": alertname,
				"alerts": []map[string]any{{"status": "firing", "labels": labels, "annotations": annotations,
					"startsAt": "2026-11-23T09:00:00Z", "fingerprint": alertname}}})
			require.NoError(t, err)
			code, out := post(t, base+"/v1/ingest/alertmanager", amToken, "application/json", body)
			require.Equal(t, http.StatusOK, code, "%v", out)
			id := findIncident(t, base, alertname).ID

			req, err := http.NewRequest(http.MethodGet, base+"/v1/incidents/"+id+"/alerts?limit=1", nil)
			require.NoError(t, err)
			req.Header.Set("Authorization", "Bearer "+apiToken)
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			defer resp.Body.Close()
			n, err := io.Copy(io.Discard, resp.Body)
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, resp.StatusCode)
			require.LessOrEqual(t, n, int64(most), "bytes of a page of one alert")
		})
	}
}
