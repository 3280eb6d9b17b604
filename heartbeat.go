package klaxon

import (
	"strconv"
	"strings"
)

// A heartbeat's deadline is a timer of its own group, HeartbeatGroup,
// named for the group's version that the ping which set it left: a later
// commit to the group (another ping) makes it stale.

// heartbeatPrefix starts the names of heartbeat timers and groups.
const heartbeatPrefix = "heartbeat:"

// HeartbeatGroup is the group that holds heartbeat name's deadline.
func HeartbeatGroup(name string) string { return heartbeatPrefix + name }

// HeartbeatTimer names the deadline set by the commit that left the
// heartbeat's group at version.
func HeartbeatTimer(name string, version uint64) string {
	return heartbeatPrefix + name + ":" + strconv.FormatUint(version, 10)
}

// ParseHeartbeatTimer reads a timer's incident as a heartbeat's deadline:
// the heartbeat's name and the group version it was set at.
func ParseHeartbeatTimer(id string) (name string, version uint64, ok bool) {
	rest, ok := strings.CutPrefix(id, heartbeatPrefix)
	if !ok {
		return "", 0, false
	}
	i := strings.LastIndexByte(rest, ':')
	if i <= 0 {
		return "", 0, false
	}
	v, err := strconv.ParseUint(rest[i+1:], 10, 64)
	if err != nil {
		return "", 0, false
	}
	return rest[:i], v, true
}
