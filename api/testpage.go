package api

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/klaxonhq/klaxon"
)

// Tester sends test pages, so that a new installation can be proved
// before its first incident.
type Tester interface {
	// TestPage sends a test page to user id by via, or by each contact
	// method of the user's notification rules when via is "", and says
	// what each provider answered. ErrNotFound: no such user; ErrInvalid:
	// an unknown via.
	TestPage(ctx context.Context, id, via string) ([]TestResult, error)
}

// TestResult is what one test page did.
type TestResult struct {
	Via string `json:"via"`
	// Channel carried the page: Via, or the console standing in for a
	// channel that is not configured, which reaches nobody.
	Channel string `json:"channel"`
	Sent    bool   `json:"sent"`
	// Answer is what the provider answered: its acceptance or its error.
	Answer string `json:"answer"`
}

// TestPageRequest is the body of POST /v1/users/{id}/test-page.
type TestPageRequest struct {
	// Via is sms, voice, email, webhook or slack; empty for each of the
	// user's.
	Via string `json:"via,omitempty"`
}

// TestPageResponse is its answer.
type TestPageResponse struct {
	User    string       `json:"user"`
	Results []TestResult `json:"results"`
}

func (s *Server) testPage(w http.ResponseWriter, r *http.Request, caller Caller) {
	if s.o.Tester == nil {
		s.writeError(w, r, errorf(http.StatusNotFound, "no test pages on this server"))
		return
	}
	var req TestPageRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096))
	dec.DisallowUnknownFields() // a mistyped via would page by every method
	if err := dec.Decode(&req); err != nil && !errors.Is(err, io.EOF) {
		var tooLarge *http.MaxBytesError
		if !errors.As(err, &tooLarge) {
			err = klaxon.Invalid(jsonField(err, nil, &req), "bad body: %v", err)
		}
		s.writeError(w, r, err)
		return
	}
	id := r.PathValue("id")
	results, err := s.o.Tester.TestPage(r.Context(), id, req.Via)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.log.InfoContext(r.Context(), "test page", "user", id, "by", caller.Name, "results", len(results))
	writeJSON(w, http.StatusOK, TestPageResponse{User: id, Results: results})
}
