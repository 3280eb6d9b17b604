package route

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
)

func TestWindowUntil(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	require.NoError(t, err)
	at := func(s string) time.Time {
		v, err := time.ParseInLocation("2006-01-02 15:04", s, berlin)
		require.NoError(t, err)
		return v
	}
	db := map[string]string{"service": "db", "alertname": "DiskFull"}
	tests := []struct {
		name  string
		spec  WindowSpec
		lbls  map[string]string
		now   string
		until string // "" when the window does not hold
	}{
		{"weekly, inside", WindowSpec{Every: "weekly", Days: []string{"sat"}, From: "02:00", To: "04:00"}, db, "2026-11-28 03:00", "2026-11-28 04:00"},
		{"weekly, at its opening", WindowSpec{Every: "weekly", Days: []string{"sat"}, From: "02:00", To: "04:00"}, db, "2026-11-28 02:00", "2026-11-28 04:00"},
		{"weekly, at its close", WindowSpec{Every: "weekly", Days: []string{"sat"}, From: "02:00", To: "04:00"}, db, "2026-11-28 04:00", ""},
		{"weekly, another day", WindowSpec{Every: "weekly", Days: []string{"sat"}, From: "02:00", To: "04:00"}, db, "2026-11-29 03:00", ""},
		{"other labels", WindowSpec{Every: "weekly", Days: []string{"sat"}, From: "02:00", To: "04:00"}, map[string]string{"service": "web"}, "2026-11-28 03:00", ""},
		{"daily across midnight, after it", WindowSpec{Every: "daily", From: "23:00", To: "01:00"}, db, "2026-11-28 00:30", "2026-11-28 01:00"},
		{"daily across midnight, before it", WindowSpec{Every: "daily", From: "23:00", To: "01:00"}, db, "2026-11-27 23:30", "2026-11-28 01:00"},
		{"weekly across midnight: the day it opened counts", WindowSpec{Every: "weekly", Days: []string{"fri"}, From: "22:00", To: "02:00"}, db, "2026-11-28 01:00", "2026-11-28 02:00"},
		// On 2026-03-29 Berlin's clocks go from 02:00 to 03:00: a window
		// of 01:00-05:00 lasts three hours that night, on the wall clock.
		{"across the change of clocks", WindowSpec{Every: "daily", From: "01:00", To: "05:00"}, db, "2026-03-29 01:30", "2026-03-29 05:00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.spec.Name, tt.spec.TimeZone, tt.spec.Matchers = "db-upgrades", "Europe/Berlin", []string{`service="db"`}
			w, errs := NewWindow(tt.spec, "maintenance[0]")
			require.Empty(t, errs)
			until, ok := w.Until(tt.lbls, at(tt.now))
			if tt.until == "" {
				require.False(t, ok, "held until %s", until)
				return
			}
			require.True(t, ok)
			require.True(t, at(tt.until).Equal(until), "until %s, want %s", until, tt.until)
		})
	}
}

func TestWindowSpecErrors(t *testing.T) {
	_, errs := NewWindow(WindowSpec{Matchers: []string{`service=~"(`}, Every: "monthly", From: "2am", To: "25:00", TimeZone: "Mars/Olympus"}, "maintenance[1]")
	var got []string
	for _, err := range errs {
		var fe *klaxon.FieldError
		require.True(t, errors.As(err, &fe))
		got = append(got, fe.Field)
	}
	require.Equal(t, []string{"maintenance[1].name", "maintenance[1].matchers[0]", "maintenance[1].every", "maintenance[1].from", "maintenance[1].to", "maintenance[1].time_zone"}, got)

	_, errs = NewWindow(WindowSpec{Name: "w", Matchers: []string{`a="b"`}, Every: "weekly", Days: []string{"someday"}, From: "01:00", To: "02:00", TimeZone: "UTC"}, "m")
	require.Len(t, errs, 1)
	require.ErrorContains(t, errs[0], `unknown day "someday"`)
}

// TestWindowSpecOverEveryAlert: a window of klaxon.yaml whose matchers
// an alert without labels meets (service=~".*", env!="prod") holds every
// alert that lacks its labels, as a heartbeat's or a PagerDuty event's,
// and pages nobody while it is open: refused, as a runtime window is.
func TestWindowSpecOverEveryAlert(t *testing.T) {
	for _, ms := range [][]string{{`service=~".*"`}, {`env!="prod"`}, {`{service=~".*",team=""}`}} {
		t.Run(ms[0], func(t *testing.T) {
			_, errs := NewWindow(WindowSpec{Name: "w", Matchers: ms, Every: "daily", From: "01:00", To: "02:00", TimeZone: "UTC"}, "maintenance[0]")
			require.Len(t, errs, 1)
			var fe *klaxon.FieldError
			require.True(t, errors.As(errs[0], &fe))
			require.Equal(t, "maintenance[0].matchers", fe.Field)
			require.ErrorContains(t, errs[0], "would silence everything")
		})
	}
	_, errs := NewWindow(WindowSpec{Name: "w", Matchers: []string{`service=~".*"`, `team="db"`}, Every: "daily", From: "01:00", To: "02:00", TimeZone: "UTC"}, "maintenance[0]")
	require.Empty(t, errs, "one matcher that needs a label is enough")
}

func TestRuntimeWindowAndSilence(t *testing.T) {
	t0 := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	short, err := RuntimeWindow(klaxon.Maintenance{ID: "1", Matchers: []string{`service="db"`}, From: t0, To: t0.Add(time.Hour)})
	require.NoError(t, err)
	long, err := RuntimeWindow(klaxon.Maintenance{ID: "2", Matchers: []string{`alertname="DiskFull"`}, From: t0, To: t0.Add(2 * time.Hour)})
	require.NoError(t, err)
	w, until, ok := Silence(map[string]string{"service": "db", "alertname": "DiskFull"}, t0.Add(time.Minute), []*Window{short, long})
	require.True(t, ok)
	require.Equal(t, "#2", w.Name, "the window that closes last")
	require.Equal(t, t0.Add(2*time.Hour), until)
	_, _, ok = Silence(map[string]string{"service": "db"}, t0.Add(time.Hour), []*Window{short, long})
	require.False(t, ok, "ended at its to")
	_, _, ok = Silence(map[string]string{"service": "db"}, t0.Add(-time.Second), []*Window{short})
	require.False(t, ok, "not yet begun")

	_, err = RuntimeWindow(klaxon.Maintenance{ID: "3"})
	require.ErrorIs(t, err, klaxon.ErrInvalid)
	_, err = RuntimeWindow(klaxon.Maintenance{ID: "3", Matchers: []string{"not a matcher"}})
	require.ErrorIs(t, err, klaxon.ErrInvalid)
	_, err = RuntimeWindow(klaxon.Maintenance{ID: "3", Matchers: []string{`service=~".*"`}})
	require.ErrorContains(t, err, "would silence everything")
	_, err = RuntimeWindow(klaxon.Maintenance{ID: "3", Matchers: []string{`service=~".*"`, `team="db"`}})
	require.NoError(t, err, "one matcher that needs a label is enough")
}

// TestSilenceChainsOpenings: an opening that begins as the last closes
// holds the alert on, so that its page is not sent in the middle of the
// maintenance: a weekend window of Saturday and Sunday, 00:00 to 24:00,
// holds a Saturday alert until Monday 00:00, not Sunday's; a runtime
// window that ends as a recurring one opens, until the recurring one
// closes. A window open all day every day holds for maxChained days.
func TestSilenceChainsOpenings(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	require.NoError(t, err)
	db := map[string]string{"service": "db", "alertname": "DiskFull"}
	window := func(spec WindowSpec) *Window {
		spec.Name, spec.TimeZone, spec.Matchers = "w", "Europe/Berlin", []string{`service="db"`}
		w, errs := NewWindow(spec, "maintenance[0]")
		require.Empty(t, errs)
		return w
	}
	saturday := time.Date(2026, 11, 28, 10, 0, 0, 0, berlin)

	weekend := window(WindowSpec{Every: "weekly", Days: []string{"sat", "sun"}, From: "00:00", To: "24:00"})
	_, until, ok := Silence(db, saturday, []*Window{weekend})
	require.True(t, ok)
	require.True(t, time.Date(2026, 11, 30, 0, 0, 0, 0, berlin).Equal(until), "until %s", until.In(berlin))

	nightly := window(WindowSpec{Every: "daily", From: "12:00", To: "14:00"})
	runtime, err := RuntimeWindow(klaxon.Maintenance{ID: "7", Matchers: []string{`service="db"`}, From: saturday, To: time.Date(2026, 11, 28, 12, 0, 0, 0, berlin)})
	require.NoError(t, err)
	w, until, ok := Silence(db, saturday, []*Window{nightly}, []*Window{runtime})
	require.True(t, ok)
	require.Equal(t, "w", w.Name)
	require.True(t, time.Date(2026, 11, 28, 14, 0, 0, 0, berlin).Equal(until), "until %s", until.In(berlin))

	always := window(WindowSpec{Every: "daily", From: "00:00", To: "24:00"})
	_, until, ok = Silence(db, saturday, []*Window{always})
	require.True(t, ok)
	require.True(t, time.Date(2026, 11, 29+maxChained, 0, 0, 0, 0, berlin).Equal(until), "until %s", until.In(berlin))
}
