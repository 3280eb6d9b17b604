package main

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon/review"
)

// TestExportDefaultZone: `klaxon incident export ID` sends this machine's
// zone as tz by default, and the server takes only IANA names
// (review.Zone): the default must be one, whatever form TZ takes. TZ in
// POSIX's forms (":/etc/localtime", which AWS and many container images
// set so that the C library need not stat the file; a path; a rule such
// as "CET-1CEST,M3.5.0,M10.5.0/3") is sent as it is, and the export
// fails with `400 Bad Request: tz: unknown time zone "/etc/localtime"`
// and prints no review, though the user gave no --tz.
func TestExportDefaultZone(t *testing.T) {
	tests := []struct {
		name, tz string
	}{
		{"an IANA name", "Europe/Berlin"},
		{"an IANA name after a colon", ":Europe/Berlin"},
		{"unset", ""},
		{"the file, after a colon", ":/etc/localtime"},
		{"a path to the zone's file", "/usr/share/zoneinfo/Europe/Berlin"},
		{"a POSIX rule", "CET-1CEST,M3.5.0,M10.5.0/3"},
		// Go's name for this process's zone, which the server refuses.
		{"Local", "Local"},
		{"Local after a colon", ":Local"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("TZ", tt.tz)
			zone := localZone()
			_, err := review.Zone(zone)
			require.NoError(t, err, "TZ=%q sends tz=%q", tt.tz, zone)
		})
	}
}
