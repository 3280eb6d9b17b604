package redis

// Key layout, with P the prefix and T = {P:s<N>} the hash tag of shard
// N = fnv1a64(group key) mod Shards. A group's keys, and so every key that
// its commit script touches, are in its shard:
//
//	T:g:<group>    hash   v: version, o: open incident ID, c: last commit token,
//	                      p: the commit token before it, m: "<token> <JSON>",
//	                      the moves of the last commit that moved alerts,
//	                      l: the ID of the incident a commit last resolved
//	                      while it was the group's open one
//	T:i:<id>       hash   j: incident header JSON, s: state
//	T:i:<id>:a     hash   alert key → alert record (alertrecord): the
//	                      incident's alerts, each a seen record with the
//	                      digest of its details (layout 4), or whole
//	T:i:<id>:d     hash   alert key → details record, of each seen record
//	                      with a digest: written only when the digest moves
//	T:i:<id>:k     zset   the incident's alert keys, each scored 0, for
//	                      IncidentAlerts to page them in order; added to
//	                      by the commits that add alerts, and built on
//	                      the first read of an incident written before it
//	T:i:<id>:e     list   event JSON: the incident's timeline, oldest first
//	T:st:<state>   zset   incident IDs in that state, score = numeric ID
//	T:alerts       hash   alert key → "<token> <group>": the alerts indexed
//	                      by the shard's groups, token of the indexing commit
//	T:tq           zset   incident → timer due time (µs since 1970)
//	T:td           hash   incident → timer JSON (exact due, group)
//	T:tl           hash   incident → "<lease end µs> <claim token>"
//	T:mv           zset   moveMember(move), score its time (µs): the
//	                      moves that the shard's groups' commits told of
//	                      (klaxon.Commit.Moved), until they are settled
//	T:ux           hash   incident key → "<HSCAN cursor> <group>": the
//	                      closed incidents whose alerts are still to leave
//	                      T:alerts (drain.lua)
//	T:ready:<r>    string readiness probe of replica <r>, for a minute
//	T:wait:<r>     string the barrier replica <r> waits for replicas to
//	                      acknowledge (Replicated), for a minute
//
// Keys looked up by something other than a group cannot be in its shard.
// They are written outside the commit script, before it, idempotently:
//
//	P:id:<id>      string group of incident <id>: Incident finds its shard
//	P:a:<alert>    string "<token> <group>": AlertGroups finds the shard
//	P:p:<user>     set    IDs of incidents that paged <user>: PagedIncidents
//	P:seq          string the incident ID counter (INCR)
//	P:shards       string the shard count the prefix was laid out with
//	P:layout       string the layout version of the keys (layout.go)
//	{P:id:<id>}:wait:<r>  string, on a cluster, the barrier replica <r>
//	                      waits for on the master of P:id:<id>, for a
//	                      minute (replicas.go)
//
// An integration's change events have a hash tag of their own, which
// the script that puts one touches alone (change.go):
//
//	{P:ch:<integration>}    zset   changekey.Key then JSON, scored 0
//	{P:ch:<integration>}:n  string the integration's change ID counter
//	{P:ch:<integration>}:d:<digest>  string the ID of the change put
//	                        with that klaxon.Change.Digest, for
//	                        klaxon.ChangeRetryWindow
//
// One sorted set per state, rather than one of open and one of all
// incidents, lets Incidents read exactly the states asked for, with the
// limit applied by Redis.

import (
	"strconv"

	"github.com/klaxonhq/klaxon"
)

// shard returns the shard of a group: FNV-1a (64 bits) of its key, modulo
// the shard count. It is part of the stored layout and must not change.
func (s *Store) shard(group string) int {
	const offset, prime = 14695981039346656037, 1099511628211
	h := uint64(offset)
	for i := 0; i < len(group); i++ {
		h ^= uint64(group[i])
		h *= prime
	}
	return int(h % uint64(len(s.tags)))
}

// tag is the hash tag of a group's shard.
func (s *Store) tag(group string) string { return s.tags[s.shard(group)] }

func groupKey(tag, group string) string           { return tag + ":g:" + group }
func incidentKey(tag, id string) string           { return tag + ":i:" + id }
func incidentAlertsKey(tag, id string) string     { return incidentKey(tag, id) + ":a" }
func detailsKey(tag, id string) string            { return incidentKey(tag, id) + ":d" }
func alertOrderKey(tag, id string) string         { return incidentKey(tag, id) + ":k" }
func timelineKey(tag, id string) string           { return incidentKey(tag, id) + ":e" }
func stateKey(tag string, st klaxon.State) string { return tag + ":st:" + string(st) }
func alertsKey(tag string) string                 { return tag + ":alerts" }
func queueKey(tag string) string                  { return tag + ":tq" }
func timersKey(tag string) string                 { return tag + ":td" }
func leasesKey(tag string) string                 { return tag + ":tl" }
func probeKey(tag, replica string) string         { return tag + ":ready:" + replica }
func waitKey(tag, replica string) string          { return tag + ":wait:" + replica }
func movesKey(tag string) string                  { return tag + ":mv" }
func unindexKey(tag string) string                { return tag + ":ux" }

func (s *Store) idKey(id string) string       { return s.prefix + ":id:" + id }
func (s *Store) alertKey(alert string) string { return s.prefix + ":a:" + alert }
func (s *Store) pagedKey(user string) string  { return s.prefix + ":p:" + user }
func (s *Store) seqKey() string               { return s.prefix + ":seq" }
func (s *Store) layoutKey() string            { return s.prefix + ":layout" }

// score is an incident's place in its state's sorted set: its numeric ID,
// so that newest first is by number ("10" after "9"). IDs that are not
// decimal sort first, by their bytes.
func score(id string) float64 {
	n, err := strconv.ParseUint(id, 10, 64)
	if err != nil {
		return 0
	}
	return float64(n)
}
