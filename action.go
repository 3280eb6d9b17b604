package klaxon

// Action is what a responder asks of an incident, whatever the channel
// it comes by: an SMS reply, a key press on a call, a mail link.
type Action string

// Actions.
const (
	ActionAck      Action = "ack"
	ActionResolve  Action = "resolve"
	ActionEscalate Action = "escalate"
)

// Done says that a was done, for people: "Acknowledged", "Resolved",
// "Escalated".
func (a Action) Done() string {
	switch a {
	case ActionAck:
		return "Acknowledged"
	case ActionResolve:
		return "Resolved"
	case ActionEscalate:
		return "Escalated"
	}
	return string(a)
}
