package config

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/route"
)

// policySpec is a policy file as written.
type policySpec struct {
	Name       string       `koanf:"name"`
	Repeat     int          `koanf:"repeat"`
	AckTimeout durationText `koanf:"ack_timeout"`
	Steps      []stepSpec   `koanf:"steps"`
	// Subscribers: user:ID (by email) or an http(s) URL (by webhook).
	Subscribers []string `koanf:"subscribers"`
	// SlackChannel gets a message per incident (notify.slack).
	SlackChannel string `koanf:"slack_channel"`
}

type stepSpec struct {
	Targets       []string     `koanf:"targets"`
	EscalateAfter durationText `koanf:"escalate_after"`
}

// loadPolicies loads every *.yaml and *.yml file of the folder name
// (`policies:` in klaxon.yaml), one policy per file, skipping hidden files
// and subfolders. It returns the valid policies, the file of every policy
// name a file defines, valid or not, and whether that list is complete:
// false when the folder or one of its files cannot be read. users are the
// known users; usersOK is false when the users file could not be read,
// and then user targets are not checked.
func (l *loader) loadPolicies(name string, users map[string]klaxon.User, usersOK bool) (map[string]klaxon.Policy, map[string]string, bool) {
	return loadFolder(l, "policy", "policies", name, func(shown string, s policySpec) (string, klaxon.Policy) {
		if s.Name == "" {
			l.probs.add(shown, "name", "required")
		}
		return s.Name, l.policy(shown, s, users, usersOK)
	})
}

// loadFolder decodes each YAML file of the folder name, which klaxon.yaml
// sets at key, into an S, and builds its named value with build. It
// returns the values that came without a problem, the file that defines
// each name, and false when the folder or one of its files could not be
// read: a name such a file defines is unknown, and nothing that refers to
// it should be blamed.
func loadFolder[S, V any](l *loader, kind, key, name string, build func(shown string, s S) (string, V)) (map[string]V, map[string]string, bool) {
	values := map[string]V{}
	defined := map[string]string{}
	files, ok := l.folder(key, name)
	if !ok {
		return values, defined, false
	}
	complete := true
	for _, f := range files {
		shown := filepath.Join(l.shown(name), f)
		raw, err := readYAML(filepath.Join(l.abs(name), f), shown)
		if err != nil {
			l.probs.list = append(l.probs.list, err)
			complete = false
			continue
		}
		var s S
		before := l.probs.count()
		d := decoder{file: shown, lookup: l.lookup, probs: l.probs}
		d.decode("", raw, reflect.ValueOf(&s).Elem())
		n, v := build(shown, s)
		if other, dup := defined[n]; dup && n != "" {
			l.probs.add(shown, "name", "%s %q is also defined in %s", kind, n, other)
		} else if n != "" {
			defined[n] = shown
		}
		if l.probs.count() == before {
			values[n] = v
		}
	}
	return values, defined, complete
}

// folder lists the *.yaml and *.yml files of the folder name, which
// klaxon.yaml sets at key, skipping hidden files and subfolders. It
// records a problem and returns false when the folder cannot be read.
func (l *loader) folder(key, name string) ([]string, bool) {
	entries, err := os.ReadDir(l.abs(name))
	if err != nil {
		e := fileError(l.shown(name), err)
		e.File, e.Path = l.path, key
		e.Msg = fmt.Sprintf("read folder %s: %s", l.shown(name), e.Msg)
		l.probs.list = append(l.probs.list, e)
		return nil, false
	}
	var files []string
	for _, e := range entries {
		ext := filepath.Ext(e.Name())
		if e.IsDir() || strings.HasPrefix(e.Name(), ".") || ext != ".yaml" && ext != ".yml" {
			continue
		}
		files = append(files, e.Name())
	}
	return files, true
}

// policy checks the policy s, from file, and turns it into a
// klaxon.Policy.
func (l *loader) policy(file string, s policySpec, users map[string]klaxon.User, usersOK bool) klaxon.Policy {
	p := klaxon.Policy{Name: s.Name, Repeat: s.Repeat}
	if s.Repeat < 0 {
		l.probs.add(file, "repeat", "must be 0 or more")
	}
	if s.AckTimeout != "" {
		d, err := ParseDuration(string(s.AckTimeout))
		switch {
		case err != nil:
			l.probs.add(file, "ack_timeout", "%v", err)
		case d < 0:
			l.probs.add(file, "ack_timeout", "must be 0s or more")
		}
		p.AckTimeout = d
	}
	if len(s.Steps) == 0 {
		l.probs.add(file, "steps", "required: at least one step")
	}
	l.checkSubscribers(file, "", s.Subscribers, users, usersOK)
	p.Subscribers = s.Subscribers
	p.SlackChannel = s.SlackChannel
	l.checkSlackChannel(file, "slack_channel", s.SlackChannel)
	for i, st := range s.Steps {
		at := func(key string) string { return fmt.Sprintf("steps[%d].%s", i, key) }
		step := klaxon.Step{}
		if len(st.Targets) == 0 {
			l.probs.add(file, at("targets"), "required: at least one user:ID or schedule:NAME")
		}
		for j, t := range st.Targets {
			path := fmt.Sprintf("steps[%d].targets[%d]", i, j)
			kind, name, _ := strings.Cut(t, ":")
			switch {
			case name == "" || kind != klaxon.TargetUser && kind != klaxon.TargetSchedule:
				l.probs.add(file, path, "bad target %q: want user:ID or schedule:NAME", t)
			case kind == klaxon.TargetUser && usersOK && !hasUser(users, name):
				l.probs.add(file, path, "unknown user %q: %s", name, l.noUser())
			case kind == klaxon.TargetSchedule && l.scheduleNames != nil && l.scheduleNames[name] == "":
				l.probs.add(file, path, "unknown schedule %q: %s", name, l.noSchedule())
			}
			step.Targets = append(step.Targets, klaxon.Target{Kind: kind, Name: name})
		}
		switch {
		case st.EscalateAfter == "" && i == len(s.Steps)-1 && s.Repeat == 0:
			// The last step of a walk that does not repeat waits until
			// someone acknowledges or resolves the incident.
		case st.EscalateAfter == "":
			l.probs.add(file, at("escalate_after"), "required, like 5m (only the last step of a policy without repeat may leave it out)")
		default:
			d, err := ParseDuration(string(st.EscalateAfter))
			switch {
			case err != nil:
				l.probs.add(file, at("escalate_after"), "%v", err)
			case d <= 0:
				l.probs.add(file, at("escalate_after"), "must be more than 0s")
			}
			step.EscalateAfter = d
		}
		p.Steps = append(p.Steps, step)
	}
	return p
}

// noUser says why a user is unknown.
func (l *loader) noUser() string {
	if l.users == "" {
		return "the config sets no users file"
	}
	return "not in " + l.shown(l.users)
}

func hasUser(users map[string]klaxon.User, id string) bool {
	_, ok := users[id]
	return ok
}

// checkSubscribers checks subscribers at path prefix (a route's, or ""
// for a policy's) of file: user:ID of a user with an email, or an
// http(s) URL.
func (l *loader) checkSubscribers(file, prefix string, subs []string, users map[string]klaxon.User, usersOK bool) {
	for i, sub := range subs {
		path := fmt.Sprintf("%ssubscribers[%d]", prefix, i)
		if id, ok := strings.CutPrefix(sub, klaxon.TargetUser+":"); ok {
			switch u, known := users[id]; {
			case usersOK && !known:
				l.probs.add(file, path, "unknown user %q: %s", id, l.noUser())
			case known && u.Email == "":
				l.probs.add(file, path, "user %q has no email: updates go by email", id)
			}
			continue
		}
		if u, err := url.Parse(sub); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			l.probs.add(file, path, "bad subscriber %q: want user:ID or an http(s) URL", sub)
		}
	}
}

// checkSlackChannel checks a slack_channel at path of file: it needs the
// Slack app.
func (l *loader) checkSlackChannel(file, path, channel string) {
	if channel != "" && !l.slack {
		l.probs.add(file, path, "needs notify.slack in the config: the Slack app that posts the messages")
	}
}

// checkRouteChat checks the subscribers and slack_channel of route s at
// path, and of its children.
func (l *loader) checkRouteChat(path string, s route.Spec, users map[string]klaxon.User, usersOK bool) {
	l.checkSubscribers(l.path, path+".", s.Subscribers, users, usersOK)
	l.checkSlackChannel(l.path, path+".slack_channel", s.SlackChannel)
	for i, c := range s.Routes {
		l.checkRouteChat(fmt.Sprintf("%s.routes[%d]", path, i), c, users, usersOK)
	}
}
