// Package review helps a team learn from its incidents: the review of one
// incident in Markdown (Markdown), and figures over many (NewReport): how
// fast people acknowledged and resolved, how often and when they were
// paged, and which alerts made the noise.
//
// Everything here is a pure function of incidents and their timelines:
// no store, no clock. Time comes in with the arguments (the reader's zone,
// the report's window).
//
// A merge (escalate.Engine.Merge) copies the merged incident's timeline
// onto the incident it joins, after a merged event, each copy's text
// prefixed with "#ID: ". Those copies are shown in the timeline of a
// review as they are, but they are the other incident's pages and acts:
// neither a review's pages, acts and notes nor a report's figures count
// them (see own).
package review
