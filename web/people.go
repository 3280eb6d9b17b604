package web

import (
	"net/http"
	"slices"

	"github.com/klaxonhq/klaxon"
)

type userRow struct {
	klaxon.User
	// Phone is the user's number with all but its last four digits
	// hidden, as logs show it.
	Phone string
	// OnCall are the schedules that have the user on call now.
	OnCall []string
}

type usersPage struct {
	Rows []userRow
	// Unknown are the schedules whose on-call could not be read.
	Unknown []string
}

// users serves GET /users: users.yaml as it is loaded, and who is on
// call where now.
func (c *Console) users(w http.ResponseWriter, r *http.Request, s *session, id *Identity) {
	v, now := c.o.View(), c.now()
	onCall := map[string][]string{}
	var p usersPage
	for _, name := range v.Names() {
		users, err := v.OnCall(r.Context(), name, now)
		if err != nil {
			// Who is on call there is not known: say so, rather than
			// show nobody.
			c.log.ErrorContext(r.Context(), "on call", "schedule", name, "err", err)
			p.Unknown = append(p.Unknown, name)
			continue
		}
		for _, u := range users {
			onCall[u] = append(onCall[u], name)
		}
	}
	for _, u := range v.Users() {
		p.Rows = append(p.Rows, userRow{User: u, Phone: maskPhone(u.Phone), OnCall: onCall[u.ID]})
	}
	c.show(w, r, s, id, "users", page{Title: "Users", Nav: "users", Data: p})
}

// maskPhone keeps a number's last four digits.
func maskPhone(p string) string {
	if len(p) <= 4 {
		return p
	}
	return "…" + p[len(p)-4:]
}

type targetNow struct {
	Target klaxon.Target
	// Users are who the target pages now; Err why that is not known.
	Users []string
	Err   string
}

type stepNow struct {
	klaxon.Step
	Targets []targetNow
}

type policyRow struct {
	klaxon.Policy
	Steps []stepNow
}

// policies serves GET /policies: each policy's steps, and who each
// would page now.
func (c *Console) policies(w http.ResponseWriter, r *http.Request, s *session, id *Identity) {
	v, now := c.o.View(), c.now()
	var rows []policyRow
	for _, p := range v.Policies() {
		row := policyRow{Policy: p}
		for _, st := range p.Steps {
			sn := stepNow{Step: st}
			for _, t := range st.Targets {
				tn := targetNow{Target: t}
				switch t.Kind {
				case klaxon.TargetUser:
					tn.Users = []string{t.Name}
				case klaxon.TargetSchedule:
					users, err := v.OnCall(r.Context(), t.Name, now)
					if err != nil {
						tn.Err = err.Error()
					}
					tn.Users = slices.Clip(users)
				}
				sn.Targets = append(sn.Targets, tn)
			}
			row.Steps = append(row.Steps, sn)
		}
		rows = append(rows, row)
	}
	c.show(w, r, s, id, "policies", page{Title: "Policies", Nav: "policies", Data: rows})
}
