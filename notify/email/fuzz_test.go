package email

import (
	"errors"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/fakeclock"
)

func FuzzLinks(f *testing.F) {
	c := fakeclock.New(t0)
	l := NewLinks(secret, time.Hour, c.Now)
	f.Add(l.Sign("42", 1, "alice", ActionAck), "42", "alice", ActionAck)
	f.Add(l.Sign("", 0, "", ""), "", "", "")
	f.Add("AQI0MgVhbGljZQNhY2s", "1", "bob", ActionResolve)
	f.Add("not a token", "with/slash", "ünïcödé", "escalate")
	f.Add("", "\x00", "\xff", "ack")
	f.Fuzz(func(t *testing.T, token, incident, user, action string) {
		// Any token: no panic, one of the documented errors.
		claims, err := l.Verify(token)
		var exp *ExpiredError
		switch {
		case err == nil:
			if !claims.Expires.After(c.Now()) {
				t.Fatalf("Verify(%q) = %+v: accepted past expiry", token, claims)
			}
		case errors.As(err, &exp), errors.Is(err, klaxon.ErrUnauthorized), errors.Is(err, klaxon.ErrInvalid):
		default:
			t.Fatalf("Verify(%q) = %v: want ErrInvalid or ErrUnauthorized", token, err)
		}

		// Any claims: Sign then Verify gives them back.
		page := len(incident) // any number; the corpus has no field of its own
		signed := l.Sign(incident, page, user, action)
		got, err := l.Verify(signed)
		if err != nil {
			t.Fatalf("Verify(Sign(%q, %q, %q)) = %v", incident, user, action, err)
		}
		want := LinkClaims{Incident: incident, Page: page, User: user, Action: action, Expires: t0.Add(time.Hour)}
		if got != want {
			t.Fatalf("Verify(Sign(...)) = %+v, want %+v", got, want)
		}
	})
}
