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
		writeError(w, r, s.log, errorf(http.StatusTooManyRequests, "too many failed authentications from this address: try again later"))
		return
	}
	writeError(w, r, s.log, err)
}
