package ingest

import (
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

	for name, tc := range map[string]struct {
		alert klaxon.Alert
		field string
	}{
		"key":         {klaxon.Alert{Key: "g/" + strings.Repeat("k", MaxKey)}, "alerts[0].key"},
		"label name":  {klaxon.Alert{Key: "g/1", Labels: map[string]string{strings.Repeat("n", MaxLabelName+1): "v"}}, "alerts[0].labels"},
		"label value": {klaxon.Alert{Key: "g/1", Labels: map[string]string{"team": strings.Repeat("v", MaxLabelValue+1)}}, "alerts[0].labels.team"},
	} {
		t.Run(name, func(t *testing.T) {
			err := bound([]klaxon.Alert{tc.alert}, listPath)
			var fe *klaxon.FieldError
			require.ErrorAs(t, err, &fe)
			require.Equal(t, tc.field, fe.Field)
		})
	}
}
