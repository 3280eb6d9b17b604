// Package schedule computes who is on call: a pure function of a schedule
// and an instant, with no clock, store or goroutine behind it. It backs
// escalation to schedule:NAME targets, `klaxon oncall`, calendar feeds and
// coverage-gap checks.
//
// A schedule (schedules/NAME.yaml, decoded into a Spec) has a time zone,
// layers and overrides:
//
//	name: payments-primary
//	time_zone: America/New_York
//	layers:
//	  - name: weekly
//	    rotation: {every: 1w, handoff: "2026-01-05T09:00"}
//	    members: [alice, bob, carol]
//	  - name: weekday-days
//	    rotation: {every: 1d, handoff: "2026-01-05T09:00"}
//	    members: [dave, erin]
//	    restrict: [{days: [mon, tue, wed, thu, fri], from: "09:00", to: "17:00"}]
//	overrides:
//	  - {user: bob, from: "2026-12-24T00:00", to: "2026-12-26T00:00"}
//
// # Rotations
//
// members[0] goes on call at the handoff, then each member in turn every
// period. Before the handoff the rotation runs backwards (the member before
// members[0] is the last one), so every instant has someone. The turn is
// computed arithmetically, so asking about any instant costs the same.
//
//   - Nd and Nw hand off at the handoff's wall-clock time in time_zone, on
//     every Nth (or 7Nth) calendar day from the handoff's date. A 09:00
//     handoff stays at 09:00 across daylight-saving changes in both
//     directions, so a shift that spans one is an hour (or, in
//     Australia/Lord_Howe, half an hour) shorter or longer. 1d is therefore
//     not always 24h.
//   - Nh counts elapsed time: handoffs are exactly N×3600 seconds apart from
//     the handoff instant, whatever the wall clock says, as GoAlert's hourly
//     rotations do. Across a daylight-saving change the wall-clock time of
//     later handoffs moves by the change (a 12h rotation at 09:00/21:00 EST
//     hands off at 10:00/22:00 EDT), and no shift is longer or shorter.
//
// The handoff is "YYYY-MM-DDTHH:MM" (seconds optional) on the wall clock of
// time_zone, or RFC 3339 with an offset, which stands for the wall-clock
// time that instant shows in time_zone.
//
// # Wall-clock times and daylight saving
//
// Every wall-clock time in a schedule (handoffs, restriction windows,
// overrides) stands for the first instant at which the clocks in time_zone
// show that time or later:
//
//   - a time that does not exist, because clocks spring forward over it,
//     is the instant the gap ends: a 02:30 handoff in America/New_York
//     happens at 03:00 EDT on the day clocks go from 02:00 to 03:00;
//   - a time that occurs twice, because clocks fall back over it, is its
//     first occurrence: 02:30 in Europe/Berlin on the last Sunday of
//     October is 02:30 CEST, and the repeated 02:00–03:00 CET hour changes
//     nothing.
//
// Go's time.Date does not settle these two cases (it picks one side in
// America/New_York and the other in Europe/Berlin), so the package does.
//
// # Restrictions
//
// A layer with restrict is on call only inside its windows; outside them
// the layers below show through. A window opens at from on each listed day
// (mon..sun; none listed means every day) and closes at to on the same day,
// or on the next day when to <= from: 17:00–09:00 on [fri] is Friday
// evening to Saturday morning, and from == to is 24 hours. to may be
// "24:00"; "00:00" as to means the same. Windows of a layer may overlap.
//
// # Layers and overrides
//
// At any instant, the last layer in the list that has someone on call
// wins. Overrides (from the YAML, in time_zone, in the same formats as the
// handoff; or given at run time as absolute instants) replace everyone else
// while they are active, from inclusive to exclusive; overlapping overrides
// put all their users on call together.
package schedule
