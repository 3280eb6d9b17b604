package api

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/config"
)

// Maintenance starts, lists and ends runtime maintenance windows.
type Maintenance interface {
	Start(ctx context.Context, w klaxon.Maintenance) (klaxon.Maintenance, error)
	List(ctx context.Context) ([]klaxon.Maintenance, error)
	End(ctx context.Context, id string) error
}

// MaintenanceRequest is the body of POST /v1/maintenance: matchers in
// Alertmanager's syntax, and how long ("2h") from now, or from and to.
type MaintenanceRequest struct {
	Matchers []string  `json:"matchers"`
	Duration string    `json:"duration,omitempty"`
	From     time.Time `json:"from,omitzero"`
	To       time.Time `json:"to,omitzero"`
	Comment  string    `json:"comment,omitempty"`
}

// MaintenanceList is the body of GET /v1/maintenance.
type MaintenanceList struct {
	Maintenance []klaxon.Maintenance `json:"maintenance"`
}

// maxMaintenance bounds a runtime window: longer silences belong in the
// config, where the team reviews them.
const maxMaintenance = 7 * 24 * time.Hour

func (s *Server) maintenanceRoutes() {
	s.handle(GroupAPI, "GET /v1/maintenance", s.auth(klaxon.ScopeRead, s.listMaintenance))
	s.handle(GroupAPI, "POST /v1/maintenance", s.auth(klaxon.ScopeAdmin, s.startMaintenance))
	s.handle(GroupAPI, "DELETE /v1/maintenance/{id}", s.auth(klaxon.ScopeAdmin, s.endMaintenance))
}

func (s *Server) maintenance(w http.ResponseWriter, r *http.Request) bool {
	if s.o.Maintenance == nil {
		s.writeError(w, r, errorf(http.StatusNotFound, "no maintenance windows here"))
		return false
	}
	return true
}

func (s *Server) listMaintenance(w http.ResponseWriter, r *http.Request, _ Caller) {
	if !s.maintenance(w, r) {
		return
	}
	list, err := s.o.Maintenance.List(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, MaintenanceList{Maintenance: nonNil(list)})
}

// startMaintenance serves POST /v1/maintenance.
func (s *Server) startMaintenance(w http.ResponseWriter, r *http.Request, caller Caller) {
	if !s.maintenance(w, r) {
		return
	}
	var req MaintenanceRequest
	if err := readRequest(w, r, &req, "maintenance window"); err != nil {
		s.writeError(w, r, err)
		return
	}
	now := s.o.Now()
	m := klaxon.Maintenance{Matchers: req.Matchers, From: req.From, To: req.To, By: caller.Name, Comment: strings.TrimSpace(req.Comment)}
	var err error
	switch {
	case req.Duration != "" && (!req.From.IsZero() || !req.To.IsZero()):
		err = klaxon.Invalid("duration", "give duration, or from and to, not both")
	case req.Duration != "":
		d, perr := config.ParseDuration(req.Duration)
		if perr != nil || d <= 0 {
			err = klaxon.Invalid("duration", "must be a positive duration such as 30m or 2h, got %q", req.Duration)
			break
		}
		m.From, m.To = now, now.Add(d)
	case m.From.IsZero():
		m.From = now
	}
	switch {
	case err != nil:
	case len(m.Matchers) == 0:
		err = klaxon.Invalid("matchers", `at least one matcher, like service="db": a window over every alert would silence everything`)
	case m.To.IsZero():
		err = klaxon.Invalid("to", "give duration, or to")
	case !m.To.After(m.From) || !m.To.After(now):
		err = klaxon.Invalid("to", "must be after from, and in the future")
	case m.To.Sub(m.From) > maxMaintenance:
		err = klaxon.Invalid("to", "a window lasts at most %s: longer ones go in klaxon.yaml's maintenance", klaxon.Span(maxMaintenance))
	case len(m.Comment) > 1024:
		err = klaxon.Invalid("comment", "at most 1024 bytes")
	}
	if err == nil {
		m, err = s.o.Maintenance.Start(r.Context(), m)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, m)
}

func (s *Server) endMaintenance(w http.ResponseWriter, r *http.Request, _ Caller) {
	if !s.maintenance(w, r) {
		return
	}
	if err := s.o.Maintenance.End(r.Context(), r.PathValue("id")); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
