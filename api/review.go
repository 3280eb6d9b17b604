package api

import (
	"net/http"
	"time"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/config"
	"github.com/klaxonhq/klaxon/review"
)

// ReportBody is the body of GET /v1/report.
type ReportBody struct {
	review.Report
	// Truncated: more incidents were opened in the window than a report
	// reads (the newest review.MaxIncidents are counted).
	Truncated bool `json:"truncated,omitempty"`
}

func (s *Server) reviewRoutes() {
	s.handle(GroupAPI, "GET /v1/incidents/{id}/review.md", s.auth(klaxon.ScopeRead, s.reviewMarkdown))
	s.handle(GroupAPI, "GET /v1/report", s.auth(klaxon.ScopeRead, s.report))
}

// reviewMarkdown serves GET /v1/incidents/{id}/review.md?tz=: the
// post-incident review, times in UTC and in tz.
func (s *Server) reviewMarkdown(w http.ResponseWriter, r *http.Request, _ Caller) {
	loc, err := review.Zone(r.URL.Query().Get("tz"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	md, err := review.Export(r.Context(), s.o.Store, s.user, r.PathValue("id"), loc)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/markdown; charset=utf-8")
	_, _ = w.Write([]byte(md))
}

// report serves GET /v1/report?since=30d&until=&by=: MTTA, MTTR, pages
// and the noisiest alerts of the incidents opened in the window.
func (s *Server) report(w http.ResponseWriter, r *http.Request, _ Caller) {
	q, now := r.URL.Query(), s.o.Now()
	o := review.Options{By: q.Get("by"), Users: s.user}
	err := review.CheckBy(o.By)
	if err == nil {
		o.Since, err = config.Since(q.Get("since"), now)
	}
	if err == nil {
		o.Until, err = instant(r, "until", time.Time{}) // none: up to now
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	rep, truncated, err := review.Load(r.Context(), s.o.Store, o)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, ReportBody{Report: rep, Truncated: truncated})
}

// user finds a user of the current config.
func (s *Server) user(id string) (klaxon.User, bool) {
	if s.o.Users == nil {
		return klaxon.User{}, false
	}
	return s.o.Users.User(id)
}
