package api

import (
	"net/http"
	"strconv"
	"time"
)

// refuse answers a failed authentication: err's own status, or 429 once
// the client is over the limit.
func (s *Server) refuse(w http.ResponseWriter, r *http.Request, err error) {
	if wait := s.failures.Fail(r); wait > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(wait.Round(time.Second)/time.Second)+1))
		s.writeError(w, r, errorf(http.StatusTooManyRequests, "too many failed authentications from this address: try again later"))
		return
	}
	s.writeError(w, r, err)
}
