package api

import (
	"context"
	"io"
	"net/http"

	"github.com/klaxonhq/klaxon/config"
)

// Heartbeats takes the pings of heartbeat integrations (ingest.Heartbeats).
type Heartbeats interface {
	Ping(ctx context.Context, name string) error
}

// heartbeat serves POST /v1/heartbeat/{name}: a ping of heartbeat name,
// with its integration's token. The body, if any (Alertmanager's
// Watchdog webhook), is read and not looked at.
func (s *Server) heartbeat(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	got, ok := s.o.Tokens.Integration(config.TypeHeartbeat, bearer(r))
	if !ok || got != name {
		s.refuse(w, r, errorf(http.StatusUnauthorized, "missing or wrong bearer token for heartbeat %q, or no heartbeat %q in the config", name, name))
		return
	}
	if s.o.Heartbeats == nil {
		s.writeError(w, r, errorf(http.StatusNotFound, "no heartbeats here"))
		return
	}
	if _, err := io.Copy(io.Discard, http.MaxBytesReader(w, r.Body, MaxBody)); err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.o.Heartbeats.Ping(r.Context(), name); err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok", "heartbeat": name})
}
