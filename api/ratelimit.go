package api

import (
	"net/http"
	"strconv"
	"time"
)

// blocked answers 429 and reports true while r's client is over the
// limit of failed authentications. An edge where people act asks it
// before it compares a token, so that a guesser over the limit learns
// nothing more, not even a right guess; ingest does not, so that a
// sender behind the address of a guesser is never refused.
func (s *Server) blocked(w http.ResponseWriter, r *http.Request) bool {
	wait := s.failures.Blocked(r)
	if wait <= 0 {
		return false
	}
	s.tooMany(w, r, wait)
	return true
}

func (s *Server) tooMany(w http.ResponseWriter, r *http.Request, wait time.Duration) {
	w.Header().Set("Retry-After", strconv.Itoa(int(wait.Round(time.Second)/time.Second)+1))
	s.writeError(w, r, errorf(http.StatusTooManyRequests, "too many failed authentications from this address: try again later"))
}

// refuse answers a failed authentication: err's own status, or 429 once
// the client is over the limit.
func (s *Server) refuse(w http.ResponseWriter, r *http.Request, err error) {
	if wait := s.failures.Fail(r); wait > 0 {
		s.tooMany(w, r, wait)
		return
	}
	s.writeError(w, r, err)
}
