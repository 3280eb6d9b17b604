package api

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
)

// Route groups: the parts of the API a listener may be limited to, so
// that a public listener takes webhooks and Twilio's callbacks while the
// API and /metrics stay on a private one.
const (
	// GroupIngest is the alert webhooks: /v1/ingest/{source}, /v2/enqueue.
	GroupIngest = "ingest"
	// GroupTwilio is Twilio's signed callbacks under /v1/twilio/.
	GroupTwilio = "twilio"
	// GroupAck is the signed links of mail pages under /v1/ack/.
	GroupAck = "ack"
	// GroupAPI is the API for people and the CLI: /v1/incidents,
	// /v1/oncall, /v1/schedules, /v1/users.
	GroupAPI = "api"
	// GroupFeed is the schedules' calendar feeds,
	// /v1/schedules/{name}.ics, which calendar apps fetch with a feed
	// token: a public listener may serve them without the API.
	GroupFeed = "feed"
	// GroupMetrics is /metrics.
	GroupMetrics = "metrics"
	// GroupHealth is /healthz and /readyz.
	GroupHealth = "health"
)

// Groups are every route group.
var Groups = []string{GroupIngest, GroupTwilio, GroupAck, GroupAPI, GroupFeed, GroupMetrics, GroupHealth}

// handle registers h for pattern, a route of group.
func (s *Server) handle(group, pattern string, h http.HandlerFunc) {
	s.groups[pattern] = group
	s.mux.HandleFunc(pattern, h)
}

// Only returns a handler that serves the routes of groups and answers 404
// to every other, as to a path that does not exist. No groups serves every
// route.
func (s *Server) Only(groups ...string) (http.Handler, error) {
	if len(groups) == 0 {
		return s, nil
	}
	serve := map[string]bool{}
	for _, g := range groups {
		if !slices.Contains(Groups, g) {
			return nil, fmt.Errorf("serve route group %q: no such group; want one of %s", g, strings.Join(Groups, ", "))
		}
		serve[g] = true
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// A pattern of no group (the catch-all, a redirect to a clean
		// path) is served as it is.
		if _, pattern := s.mux.Handler(r); s.groups[pattern] != "" && !serve[s.groups[pattern]] {
			s.notFound(w, r)
			return
		}
		s.mux.ServeHTTP(w, r)
	}), nil
}
