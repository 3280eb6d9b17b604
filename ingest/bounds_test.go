package ingest

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
)

func TestBound(t *testing.T) {
	long := strings.Repeat("é", MaxText) // two bytes a rune
	a := []klaxon.Alert{{Key: "g/1", Summary: long, Annotations: map[string]string{"description": long}}}
	require.NoError(t, bound(a, listPath))
	for _, s := range []string{a[0].Summary, a[0].Annotations["description"]} {
		require.LessOrEqual(t, len(s), MaxText)
		require.True(t, utf8.ValidString(s), "cut at a rune boundary")
		require.True(t, strings.HasSuffix(s, truncated))
	}

	err := bound([]klaxon.Alert{{Key: "g/" + strings.Repeat("k", MaxKey)}}, listPath)
	var fe *klaxon.FieldError
	require.ErrorAs(t, err, &fe, "a key over its bound is refused")
	require.Equal(t, "alerts[0].key", fe.Field)
}

// TestBoundCutsLabels: a label over its bound is cut and marked, not
// refused: refused, it would lose every alert of its body, as
// Alertmanager sends a group in one body and does not retry a 4xx.
func TestBoundCutsLabels(t *testing.T) {
	longName := strings.Repeat("n", MaxLabelName+1)
	a := []klaxon.Alert{{Key: "g/1", Severity: strings.Repeat("s", MaxLabelValue+1), Labels: map[string]string{
		"team":   strings.Repeat("v", MaxLabelValue+1),
		longName: "x",
		"env":    "prod",
	}, Annotations: map[string]string{longName + "a": "y"}}}
	require.NoError(t, bound(a, listPath))
	got := a[0]
	require.Len(t, got.Labels["team"], MaxLabelValue)
	require.True(t, strings.HasSuffix(got.Labels["team"], truncated))
	require.Equal(t, "x", got.Labels[cutTo(longName, MaxLabelName)])
	require.NotContains(t, got.Labels, longName)
	require.Equal(t, "prod", got.Labels["env"])
	require.Len(t, got.Labels, 3)
	require.Equal(t, "y", got.Annotations[cutTo(longName+"a", MaxLabelName)])
	require.LessOrEqual(t, len(got.Severity), MaxLabelValue)
	for k := range got.Labels {
		require.LessOrEqual(t, len(k), MaxLabelName)
	}
}

// TestBoundBudget: an alert's labels and annotations over their bound in
// all keep the well-known ones first, then by name, and count those
// dropped; within it they are as sent.
func TestBoundBudget(t *testing.T) {
	big := strings.Repeat("v", MaxLabelValue)
	labels := map[string]string{"alertname": "Fat", "service": "db", "zone": "eu"}
	annotations := map[string]string{"summary": "fat", "description": strings.Repeat("d", MaxText)}
	for k := range 100 {
		labels[fmt.Sprintf("x%03d", k)] = big
		annotations[fmt.Sprintf("a%03d", k)] = strings.Repeat("t", MaxText)
	}
	a := []klaxon.Alert{{Key: "g/1", Labels: labels, Annotations: annotations},
		{Key: "g/2", Labels: map[string]string{"alertname": "Thin"}, Annotations: map[string]string{"summary": "thin"}}}
	require.NoError(t, bound(a, listPath))

	for _, tt := range []struct {
		m         map[string]string
		max       int
		dropped   string
		kept      []string
		keptLast  string // the last by name kept
		droppedTo int
	}{
		{a[0].Labels, MaxLabels, DroppedLabels, []string{"alertname", "service", "zone"}, "x006", 93},
		{a[0].Annotations, MaxAnnotations, DroppedAnnotations, []string{"summary", "description"}, "a001", 98},
	} {
		size := 0
		for k, v := range tt.m {
			size += len(k) + len(v)
		}
		require.LessOrEqual(t, size, tt.max)
		for _, k := range tt.kept {
			require.Contains(t, tt.m, k)
		}
		require.Contains(t, tt.m, tt.keptLast)
		require.Equal(t, strconv.Itoa(tt.droppedTo), tt.m[tt.dropped])
	}
	require.Equal(t, map[string]string{"alertname": "Thin"}, a[1].Labels, "within the bound, as sent")
	require.Equal(t, map[string]string{"summary": "thin"}, a[1].Annotations)
}
