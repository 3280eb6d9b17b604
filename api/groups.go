package api

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/klaxonhq/klaxon/config"
)

// Route groups: the parts of the API a listener may be limited to, so
// that a public listener takes webhooks and Twilio's callbacks while the
// API and /metrics stay on a private one. They are the groups a
// listener's serve names in klaxon.yaml (config.ServeGroups), where each
// says which routes it holds.
const (
	GroupIngest  = config.ServeIngest
	GroupTwilio  = config.ServeTwilio
	GroupAck     = config.ServeAck
	GroupAPI     = config.ServeAPI
	GroupFeed    = config.ServeFeed
	GroupMetrics = config.ServeMetrics
	GroupHealth  = config.ServeHealth
	GroupWeb     = config.ServeWeb
	GroupSlack   = config.ServeSlack
)

// Groups are every route group.
var Groups = config.ServeGroups

// handle registers h for pattern, a route of group.
func (s *Server) handle(group, pattern string, h http.HandlerFunc) {
	s.groups[pattern] = group
	s.mux.HandleFunc(pattern, h)
}

// Only returns a handler that serves the routes of groups and answers 404
// to every other, as to a path that does not exist. No groups serves every
// route. Where GroupAPI is not served, no API token is taken, by the
// calendar feeds nor by the console (see config.Served): a public
// listener without the API does not become a way in for API tokens.
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
		r = r.WithContext(config.WithServed(r.Context(), serve))
		// A pattern of no group (the catch-all, a redirect to a clean
		// path) is served as it is.
		if _, pattern := s.mux.Handler(r); s.groups[pattern] != "" && !serve[s.groups[pattern]] {
			s.notFound(w, r)
			return
		}
		s.mux.ServeHTTP(w, r)
	}), nil
}
