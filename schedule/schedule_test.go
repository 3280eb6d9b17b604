package schedule_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/schedule"
	"github.com/stretchr/testify/require"
)

// exampleSpec is the schedule of DESIGN.md.
func exampleSpec() schedule.Spec {
	return schedule.Spec{
		Name:     "payments-primary",
		TimeZone: "America/New_York",
		Layers: []schedule.LayerSpec{
			{
				Name:     "weekly",
				Rotation: schedule.RotationSpec{Every: "1w", Handoff: "2026-01-05T09:00"},
				Members:  []string{"alice", "bob", "carol"},
			},
			{
				Name:     "weekday-days",
				Rotation: schedule.RotationSpec{Every: "1d", Handoff: "2026-01-05T09:00"},
				Members:  []string{"dave", "erin"},
				Restrict: []schedule.RestrictSpec{{Days: []string{"mon", "tue", "wed", "thu", "fri"}, From: "09:00", To: "17:00"}},
			},
		},
		Overrides: []schedule.OverrideSpec{{User: "bob", From: "2026-12-24T00:00", To: "2026-12-26T00:00"}},
	}
}

func mustNew(t testing.TB, spec schedule.Spec) *schedule.Schedule {
	t.Helper()
	s, err := schedule.New(spec)
	require.NoError(t, err)
	return s
}

func mustLoad(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	require.NoError(t, err)
	return loc
}

// wall parses "2006-01-02 15:04" in loc; only for times that occur once.
func wall(t testing.TB, loc *time.Location, s string) time.Time {
	t.Helper()
	tm, err := time.ParseInLocation("2006-01-02 15:04", s, loc)
	require.NoError(t, err)
	return tm
}

func TestOnCallExample(t *testing.T) {
	s := mustNew(t, exampleSpec())
	ny := s.Location()
	for _, tc := range []struct {
		name string
		at   string // America/New_York
		want []string
	}{
		{"monday before the first handoff has the last weekly member", "2026-01-05 08:59", []string{"carol"}},
		{"first weekday handoff", "2026-01-05 09:00", []string{"dave"}},
		{"tuesday business hours alternate to erin", "2026-01-06 12:00", []string{"erin"}},
		{"wednesday business hours back to dave", "2026-01-07 16:59", []string{"dave"}},
		{"wednesday evening is the weekly member", "2026-01-07 17:00", []string{"alice"}},
		{"thursday night", "2026-01-08 03:00", []string{"alice"}},
		{"friday business hours", "2026-01-09 09:00", []string{"dave"}},
		{"saturday noon is outside the weekday window", "2026-01-10 12:00", []string{"alice"}},
		{"sunday noon", "2026-01-11 12:00", []string{"alice"}},
		{"monday before the weekly handoff", "2026-01-12 08:59", []string{"alice"}},
		{"second monday: the daily rotation counted the weekend", "2026-01-12 09:00", []string{"erin"}},
		{"second week evening", "2026-01-12 17:00", []string{"bob"}},
		{"third week", "2026-01-19 17:00", []string{"carol"}},
		{"fourth week wraps around", "2026-01-26 17:00", []string{"alice"}},
		{"before the handoff the daily rotation runs backwards", "2025-12-31 12:00", []string{"erin"}},
		{"before the handoff the weekly rotation runs backwards", "2025-12-31 20:00", []string{"carol"}},
		{"two weeks before the handoff", "2025-12-27 12:00", []string{"bob"}},
		{"monday after spring forward, before the handoff", "2026-03-09 08:59", []string{"carol"}},
		{"monday after spring forward, at the handoff", "2026-03-09 09:00", []string{"erin"}},
		{"monday after spring forward, evening", "2026-03-09 17:00", []string{"alice"}},
		{"before the christmas override", "2026-12-23 23:59", []string{"carol"}},
		{"christmas override starts", "2026-12-24 00:00", []string{"bob"}},
		{"christmas override beats business hours", "2026-12-24 12:00", []string{"bob"}},
		{"christmas override last minute", "2026-12-25 23:59", []string{"bob"}},
		{"christmas override ended", "2026-12-26 00:00", []string{"carol"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, s.OnCall(wall(t, ny, tc.at)))
		})
	}
}

func TestOnCallExtraOverrides(t *testing.T) {
	s := mustNew(t, exampleSpec())
	ny := s.Location()
	o := func(user, from, to string) schedule.Override {
		return schedule.Override{User: user, From: wall(t, ny, from), To: wall(t, ny, to)}
	}
	for _, tc := range []struct {
		name  string
		at    string
		extra []schedule.Override
		want  []string
	}{
		{"runtime override replaces the weekly member", "2026-01-07 21:00",
			[]schedule.Override{o("erin", "2026-01-07 20:00", "2026-01-07 22:00")}, []string{"erin"}},
		{"runtime override ends exclusive", "2026-01-07 22:00",
			[]schedule.Override{o("erin", "2026-01-07 20:00", "2026-01-07 22:00")}, []string{"alice"}},
		{"overlapping overrides are all on call, sorted", "2026-01-07 21:00",
			[]schedule.Override{o("erin", "2026-01-07 20:00", "2026-01-07 22:00"), o("carol", "2026-01-07 21:00", "2026-01-08 00:00")},
			[]string{"carol", "erin"}},
		{"runtime and yaml override for the same user de-duplicate", "2026-12-24 12:00",
			[]schedule.Override{o("bob", "2026-12-24 11:00", "2026-12-24 13:00")}, []string{"bob"}},
		{"runtime override beside the yaml one", "2026-12-24 12:00",
			[]schedule.Override{o("alice", "2026-12-24 11:00", "2026-12-24 13:00")}, []string{"alice", "bob"}},
		{"reversed override is ignored", "2026-01-07 21:00",
			[]schedule.Override{o("erin", "2026-01-07 22:00", "2026-01-07 20:00")}, []string{"alice"}},
		{"override without a user is ignored", "2026-01-07 21:00",
			[]schedule.Override{o("", "2026-01-07 20:00", "2026-01-07 22:00")}, []string{"alice"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, s.OnCall(wall(t, ny, tc.at), tc.extra...))
		})
	}
}

func TestAccessors(t *testing.T) {
	spec := exampleSpec()
	spec.Overrides = append(spec.Overrides, schedule.OverrideSpec{User: "zoe", From: "2026-02-01T00:00", To: "2026-02-02T00:00"})
	s := mustNew(t, spec)
	require.Equal(t, "payments-primary", s.Name())
	require.Equal(t, "America/New_York", s.Location().String())
	require.Equal(t, []string{"alice", "bob", "carol", "dave", "erin", "zoe"}, s.Members())
	s.Members()[0] = "mallory"
	require.Equal(t, "alice", s.Members()[0], "Members returns a copy")
}

func TestOnCallNobody(t *testing.T) {
	s := mustNew(t, schedule.Spec{
		Name: "office", TimeZone: "Europe/Berlin",
		Layers: []schedule.LayerSpec{{
			Rotation: schedule.RotationSpec{Every: "1w", Handoff: "2026-01-05T09:00"},
			Members:  []string{"alice"},
			Restrict: []schedule.RestrictSpec{{Days: []string{"mon"}, From: "09:00", To: "17:00"}},
		}},
	})
	require.Nil(t, s.OnCall(wall(t, s.Location(), "2026-01-06 12:00")))
	require.Equal(t, []string{"alice"}, s.OnCall(wall(t, s.Location(), "2026-01-12 12:00")))
}

func TestOnCallFarFromHandoff(t *testing.T) {
	s := mustNew(t, exampleSpec())
	ny := s.Location()
	// 7000 days (1000 weeks) after 2026-01-05 is 2045-03-06, a Monday.
	for _, tc := range []struct {
		name string
		at   string
		want string
	}{
		{"turn 999 of the weekly rotation", "2045-03-06 08:00", "alice"},
		{"turn 7000 of the daily rotation", "2045-03-06 12:00", "dave"},
		{"turn 1000 of the weekly rotation", "2045-03-06 17:00", "bob"},
		{"turn -1000 of the weekly rotation", "2006-11-06 17:00", "carol"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, []string{tc.want}, s.OnCall(wall(t, ny, tc.at)))
		})
	}
}

func TestOnCallExtremeTimes(t *testing.T) {
	for _, every := range []string{"1d", "1w", "12h"} {
		spec := exampleSpec()
		spec.Layers[0].Rotation.Every = every
		s := mustNew(t, spec)
		for _, tm := range []time.Time{{}, time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)} {
			t.Run(every+" at "+tm.Format(time.RFC3339), func(t *testing.T) {
				require.Len(t, s.OnCall(tm), 1)
				require.NotEmpty(t, s.Shifts(tm.Add(-48*time.Hour), tm))
			})
		}
	}
}

func TestHourlyRotation(t *testing.T) {
	s := mustNew(t, schedule.Spec{
		Name: "follow-the-sun", TimeZone: "America/New_York",
		Layers: []schedule.LayerSpec{{
			Rotation: schedule.RotationSpec{Every: "12h", Handoff: "2026-03-06T09:00"},
			Members:  []string{"amy", "ben"},
		}},
	})
	ny := s.Location()
	var got []string
	for _, sh := range s.Shifts(wall(t, ny, "2026-03-07 00:00"), wall(t, ny, "2026-03-10 00:00")) {
		got = append(got, sh.Start.Format("Mon 15:04 MST")+" "+sh.User)
	}
	// Elapsed hours: after spring forward the handoffs move to 10:00/22:00.
	require.Equal(t, []string{
		"Sat 00:00 EST ben", "Sat 09:00 EST amy", "Sat 21:00 EST ben",
		"Sun 10:00 EDT amy", "Sun 22:00 EDT ben",
		"Mon 10:00 EDT amy", "Mon 22:00 EDT ben",
	}, got)

	anchor := wall(t, ny, "2026-03-06 09:00")
	members := []string{"amy", "ben"}
	for tm := wall(t, ny, "2025-12-01 00:00"); tm.Before(wall(t, ny, "2027-01-01 00:00")); tm = tm.Add(15 * time.Minute) {
		d := tm.Sub(anchor)
		k := int(d / (12 * time.Hour))
		if d%(12*time.Hour) < 0 {
			k-- // floor, not truncation, before the handoff
		}
		want := members[(k%2+2)%2]
		if got := s.OnCall(tm); len(got) != 1 || got[0] != want {
			require.Equal(t, []string{want}, got, "at %s", tm)
		}
	}
}

func TestHandoffRFC3339(t *testing.T) {
	local := mustNew(t, exampleSpec())
	spec := exampleSpec()
	spec.Layers[0].Rotation.Handoff = "2026-01-05T15:00:00+01:00" // 09:00 in New York
	spec.Layers[1].Rotation.Handoff = "2026-01-05T14:00:00Z"
	spec.Overrides[0].From = "2026-12-24T05:00:00Z"
	spec.Overrides[0].To = "2026-12-26T05:00:00Z"
	offset := mustNew(t, spec)
	for tm := wall(t, local.Location(), "2026-01-01 00:00"); tm.Year() == 2026; tm = tm.Add(time.Hour) {
		if a, b := local.OnCall(tm), offset.OnCall(tm); !slices.Equal(a, b) {
			require.Equal(t, a, b, "at %s", tm)
		}
	}
}

func TestNewErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		modify func(*schedule.Spec)
		want   string
	}{
		{"bad duration", func(s *schedule.Spec) { s.Layers[1].Rotation.Every = "1x" },
			`layers[1].rotation.every: bad duration "1x"`},
		{"zero duration", func(s *schedule.Spec) { s.Layers[0].Rotation.Every = "0d" },
			`layers[0].rotation.every: bad duration "0d"`},
		{"duration without a number", func(s *schedule.Spec) { s.Layers[0].Rotation.Every = "w" },
			`layers[0].rotation.every: bad duration "w"`},
		{"go duration is not a rotation", func(s *schedule.Spec) { s.Layers[0].Rotation.Every = "24h0m" },
			`layers[0].rotation.every: bad duration "24h0m"`},
		{"missing every", func(s *schedule.Spec) { s.Layers[0].Rotation.Every = "" },
			`layers[0].rotation.every: missing`},
		{"empty rotation", func(s *schedule.Spec) { s.Layers[0].Members = nil },
			`layers[0].members: empty rotation`},
		{"empty member", func(s *schedule.Spec) { s.Layers[0].Members = []string{"alice", ""} },
			`layers[0].members[1]: empty user`},
		{"bad handoff", func(s *schedule.Spec) { s.Layers[0].Rotation.Handoff = "2026-01-05 09:00" },
			`layers[0].rotation.handoff: bad time "2026-01-05 09:00" (want YYYY-MM-DDTHH:MM or RFC 3339)`},
		{"missing handoff", func(s *schedule.Spec) { s.Layers[0].Rotation.Handoff = "" },
			`layers[0].rotation.handoff: missing`},
		{"override to before from", func(s *schedule.Spec) { s.Overrides[0].To = "2026-12-23T00:00" },
			`overrides[0]: to is before from`},
		{"override to equals from", func(s *schedule.Spec) { s.Overrides[0].To = s.Overrides[0].From },
			`overrides[0]: to equals from`},
		{"override without user", func(s *schedule.Spec) { s.Overrides[0].User = "" },
			`overrides[0].user: missing`},
		{"override bad time", func(s *schedule.Spec) { s.Overrides[0].From = "christmas" },
			`overrides[0].from: bad time "christmas" (want YYYY-MM-DDTHH:MM or RFC 3339)`},
		{"unknown day", func(s *schedule.Spec) { s.Layers[1].Restrict[0].Days[4] = "fry" },
			`layers[1].restrict[0].days[4]: unknown day "fry" (want mon..sun)`},
		{"24:00 is only an end", func(s *schedule.Spec) { s.Layers[1].Restrict[0].From = "24:00" },
			`layers[1].restrict[0].from: bad time of day "24:00" (want HH:MM)`},
		{"bad end of window", func(s *schedule.Spec) { s.Layers[1].Restrict[0].To = "5pm" },
			`layers[1].restrict[0].to: bad time of day "5pm" (want HH:MM or 24:00)`},
		{"missing start of window", func(s *schedule.Spec) { s.Layers[1].Restrict[0].From = "" },
			`layers[1].restrict[0].from: missing`},
		{"unknown zone", func(s *schedule.Spec) { s.TimeZone = "Mars/Olympus_Mons" },
			`time_zone: unknown time zone "Mars/Olympus_Mons"`},
		{"host zone is not a schedule zone", func(s *schedule.Spec) { s.TimeZone = "Local" },
			`time_zone: unknown time zone "Local"`},
		{"missing zone", func(s *schedule.Spec) { s.TimeZone = "" },
			`time_zone: missing`},
		{"missing name", func(s *schedule.Spec) { s.Name = "" },
			`name: missing`},
		{"a name its URL cannot carry", func(s *schedule.Spec) { s.Name = ".." },
			`name: ".." cannot name a schedule: /schedules/.. is not a path of its own once cleaned`},
		{"no layers", func(s *schedule.Spec) { s.Layers = nil },
			`layers: no layers`},
		{"duplicate layer name", func(s *schedule.Spec) { s.Layers[1].Name = "weekly" },
			`layers[1].name: "weekly" already names layers[0]`},
		{"every problem is reported", func(s *schedule.Spec) {
			s.TimeZone = "Nowhere"
			s.Layers[0].Members = nil
			s.Layers[1].Rotation.Every = "1x"
			s.Overrides[0].From, s.Overrides[0].To = s.Overrides[0].To, s.Overrides[0].From
		}, strings.Join([]string{
			`time_zone: unknown time zone "Nowhere"`,
			`layers[0].members: empty rotation`,
			`layers[1].rotation.every: bad duration "1x"`,
			`overrides[0]: to is before from`,
		}, "\n")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := exampleSpec()
			tc.modify(&spec)
			s, err := schedule.New(spec)
			require.Nil(t, s)
			require.EqualError(t, err, tc.want)
			require.ErrorIs(t, err, klaxon.ErrInvalid)
			var fe *klaxon.FieldError
			require.True(t, errors.As(err, &fe))
			require.Equal(t, tc.want[:strings.Index(tc.want, ":")], fe.Field)
		})
	}
}

func TestNewAccepts(t *testing.T) {
	for _, tc := range []struct {
		name   string
		modify func(*schedule.Spec)
	}{
		{"24:00 as end of window", func(s *schedule.Spec) { s.Layers[1].Restrict[0].To = "24:00" }},
		{"window over midnight", func(s *schedule.Spec) { s.Layers[1].Restrict[0].From, s.Layers[1].Restrict[0].To = "17:00", "09:00" }},
		{"no days means every day", func(s *schedule.Spec) { s.Layers[1].Restrict[0].Days = nil }},
		{"capitalised day", func(s *schedule.Spec) { s.Layers[1].Restrict[0].Days[0] = "Mon" }},
		{"handoff with seconds", func(s *schedule.Spec) { s.Layers[0].Rotation.Handoff = "2026-01-05T09:00:30" }},
		{"handoff in a dst gap", func(s *schedule.Spec) { s.Layers[0].Rotation.Handoff = "2026-03-08T02:30" }},
		{"hourly rotation", func(s *schedule.Spec) { s.Layers[0].Rotation.Every = "8h" }},
		{"utc", func(s *schedule.Spec) { s.TimeZone = "UTC" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := exampleSpec()
			tc.modify(&spec)
			_, err := schedule.New(spec)
			require.NoError(t, err)
		})
	}
}

func BenchmarkOnCall(b *testing.B) {
	s := mustNew(b, exampleSpec())
	// Instants spread over 2026, so that zone lookups do not all hit one
	// cached period.
	var at [1024]time.Time
	for i := range at {
		at[i] = wall(b, s.Location(), "2026-01-01 00:00").Add(time.Duration(i)*8*time.Hour + 7*time.Minute)
	}
	var i int
	for b.Loop() {
		s.OnCall(at[i%len(at)])
		i++
	}
}

func BenchmarkShifts4Weeks(b *testing.B) {
	s := mustNew(b, exampleSpec())
	from := wall(b, s.Location(), "2026-03-02 00:00")
	to := from.AddDate(0, 0, 28)
	for b.Loop() {
		s.Shifts(from, to)
	}
}
