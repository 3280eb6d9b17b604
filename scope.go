package klaxon

// Scope is what an API token may do. Scopes nest: admin includes act,
// which includes read, so a token's scopes come down to the widest.
type Scope string

// API token scopes, narrowest first.
const (
	// ScopeRead reads incidents, their alerts and timeline, who is on
	// call, schedules and overrides.
	ScopeRead Scope = "read"
	// ScopeAct acts on incidents (ack, resolve, escalate, snooze) and
	// sends test pages.
	ScopeAct Scope = "act"
	// ScopeAdmin changes what the configuration decides: runtime
	// overrides of schedules.
	ScopeAdmin Scope = "admin"
)

// Scopes are the scopes, narrowest first.
var Scopes = []Scope{ScopeRead, ScopeAct, ScopeAdmin}

// rank orders the scopes; 0 is no scope Klaxon knows.
func (s Scope) rank() int {
	for i, t := range Scopes {
		if s == t {
			return i + 1
		}
	}
	return 0
}

// Valid reports whether s is a scope Klaxon knows.
func (s Scope) Valid() bool { return s.rank() > 0 }

// Includes reports whether a token with scope s may do what need allows:
// s is need or wider.
func (s Scope) Includes(need Scope) bool { return s.Valid() && s.rank() >= need.rank() }

// Widest returns the widest of scopes, "" for none.
func Widest(scopes []Scope) Scope {
	var w Scope
	for _, s := range scopes {
		if s.rank() > w.rank() {
			w = s
		}
	}
	return w
}
