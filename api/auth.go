package api

import (
	"net/http"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/config"
)

// auth lets through requests whose API token has scope need, or a wider
// one, and hands the token to h as the caller. A missing or wrong token is
// a failed authentication: 401, counted against the client's address. A
// right token without the scope is 403, and is not counted.
func (s *Server) auth(need klaxon.Scope, h func(w http.ResponseWriter, r *http.Request, caller Caller)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.blocked(w, r) {
			return
		}
		caller, ok := s.o.Tokens.Caller(bearer(r))
		if !ok {
			s.refuse(w, r, errorf(http.StatusUnauthorized, "missing or wrong API token (Authorization: Bearer <token>)"))
			return
		}
		if !caller.Scope.Includes(need) {
			s.writeError(w, r, errorf(http.StatusForbidden, "token %q lacks scope %q", caller.Name, need))
			return
		}
		h(w, r, caller)
	}
}

// maxBy bounds the name a command acts for.
const maxBy = 128

// actor is who acts in caller's command: the token itself, or, when the
// token may act for others (act_as), the person by names; the timeline
// then records both. A token that may not act for others and names
// someone else is refused, not ignored.
func actor(caller Caller, by, how string) (klaxon.Actor, error) {
	switch {
	case by == "" || by == caller.Name:
		return klaxon.Actor{By: caller.Name, How: how}, nil
	case !caller.ActAs:
		return klaxon.Actor{}, &statusError{code: http.StatusForbidden, field: "by",
			msg: "token \"" + caller.Name + "\" may not act for others: leave out by (the token's name acts), or give the token act_as: true"}
	case len(by) > maxBy:
		return klaxon.Actor{}, klaxon.Invalid("by", "at most %d bytes, got %d", maxBy, len(by))
	}
	return klaxon.Actor{By: by, How: how, ViaToken: caller.Name}, nil
}

// feedAuth reports whether r may read the calendar feed of schedule
// name, and answers it when not. A calendar app cannot send headers, so
// a feed token (api.feed_tokens) of that schedule may come as ?token=,
// or as a bearer token; an API token of read scope may come as a bearer
// token only, never in a URL, where proxies and calendar services keep
// it, and only on a listener that serves the API.
func (s *Server) feedAuth(w http.ResponseWriter, r *http.Request, name string) bool {
	if s.blocked(w, r) {
		return false
	}
	if token := bearer(r); token != "" {
		if caller, ok := s.o.Tokens.Caller(token); ok && config.Served(r.Context(), GroupAPI) {
			if !caller.Scope.Includes(klaxon.ScopeRead) {
				s.writeError(w, r, errorf(http.StatusForbidden, "token %q lacks scope %q", caller.Name, klaxon.ScopeRead))
				return false
			}
			return true
		}
		return s.feedToken(w, r, name, token)
	}
	token := r.URL.Query().Get("token")
	if _, ok := s.o.Tokens.Caller(token); ok && config.Served(r.Context(), GroupAPI) {
		s.refuse(w, r, errorf(http.StatusUnauthorized, "an API token does not go in a URL: give calendar apps a feed token of schedule %q (api.feed_tokens)", name))
		return false
	}
	return s.feedToken(w, r, name, token)
}

// feedToken reports whether token is a feed token of schedule name, and
// answers r when not.
func (s *Server) feedToken(w http.ResponseWriter, r *http.Request, name, token string) bool {
	feed, schedule, ok := s.o.Tokens.Feed(token)
	switch {
	case !ok:
		s.refuse(w, r, errorf(http.StatusUnauthorized, "missing or wrong feed token (?token=<feed token>, or Authorization: Bearer <token>)"))
	case schedule != name:
		s.writeError(w, r, errorf(http.StatusForbidden, "feed token %q reads the feed of schedule %q only", feed, schedule))
	default:
		return true
	}
	return false
}
