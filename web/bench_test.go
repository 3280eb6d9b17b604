package web_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/klaxonhq/klaxon"
)

// BenchmarkIncidentPage serves the page of an incident of 10,000 alerts
// and as many timeline events: what a responder opens in a storm. The
// page shows 50 of each, so its cost must not follow the incident's size.
func BenchmarkIncidentPage(b *testing.B) {
	for _, n := range []int{10, 10_000} {
		b.Run(fmt.Sprintf("alerts=%d", n), func(b *testing.B) {
			r := newRig(b)
			id := r.Open(b, "db")
			for done := 0; done < n; done += 1000 {
				r.Update(b, id, func(inc *klaxon.Incident) {
					for i := done; i < min(done+1000, n); i++ {
						a := klaxon.AlertState{Alert: klaxon.Alert{Key: fmt.Sprintf("am/%06d", i), Status: klaxon.Firing, Summary: "disk full"}, Count: 1, FirstSeen: t0, LastSeen: t0}
						inc.Changed = append(inc.Changed, a)
						inc.Record(klaxon.Event{At: t0, Kind: klaxon.EventAlertJoined, Alert: a.Key})
					}
					inc.AlertCount += min(1000, n-done)
				})
			}
			h := r.srv.Config.Handler
			cookie := signInCookie(b, r)
			b.ResetTimer()
			for b.Loop() {
				req := httptest.NewRequest(http.MethodGet, "/incidents/"+id, nil)
				req.AddCookie(cookie)
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("status %d", rec.Code)
				}
			}
		})
	}
}

// BenchmarkIncidentList serves the list of 500 open incidents.
func BenchmarkIncidentList(b *testing.B) {
	r := newRig(b)
	for i := range 500 {
		r.Open(b, fmt.Sprintf("g%d", i))
	}
	h := r.srv.Config.Handler
	cookie := signInCookie(b, r)
	for b.Loop() {
		req := httptest.NewRequest(http.MethodGet, "/incidents", nil)
		req.AddCookie(cookie)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d", rec.Code)
		}
	}
}

// signInCookie signs in with the read token and returns the session's
// cookie.
func signInCookie(b *testing.B, r *rig) *http.Cookie {
	req := httptest.NewRequest(http.MethodPost, "/login", nil)
	req.PostForm = map[string][]string{"token": {readToken}}
	rec := httptest.NewRecorder()
	r.srv.Config.Handler.ServeHTTP(rec, req)
	for _, c := range rec.Result().Cookies() {
		if c.Name == "klaxon_session" {
			return c
		}
	}
	b.Fatal("no session cookie")
	return nil
}
