// Package klaxon holds the domain of the Klaxon paging gateway: alerts,
// incidents and their timeline, escalation policies, users, pages, and the
// Store that keeps them.
//
// Each step of the flow lives in its own package (ingest, route, incident,
// escalate, notify, the stores) and speaks in the types defined here.
package klaxon
