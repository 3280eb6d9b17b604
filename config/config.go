// Package config loads klaxon.yaml and the files it names (policies, users,
// schedules) into domain values, strictly: an unknown key, a value of the
// wrong type or a broken reference is an error naming the file and the key
// path, and Load reports all of them at once. Warnings reports what is valid
// but likely wrong, like gaps in a schedule's coverage.
//
// Values come from, lowest to highest precedence: the YAML file, a few
// KLAXON_* environment variables, and the command's flags. Secrets stay out
// of the files: every string value may hold ${VAR} or ${VAR:-default},
// expanded from the environment after the YAML is parsed. Loading reads
// files and the environment, and does nothing else.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/route"
	"github.com/klaxonhq/klaxon/schedule"
	"github.com/knadh/koanf/parsers/yaml"
	"github.com/knadh/koanf/providers/confmap"
	"github.com/knadh/koanf/providers/rawbytes"
	"github.com/knadh/koanf/v2"
	yamlv3 "go.yaml.in/yaml/v3"
)

// Config is a loaded, validated configuration.
type Config struct {
	// Dir is the absolute folder of the config file; relative paths in it
	// resolve against Dir.
	Dir string
	// Listen are the addresses Klaxon serves HTTP on, at least one;
	// default one, 127.0.0.1:8080, serving every route. The file may
	// give listen as one address, with the top-level tls.
	Listen []Listener
	// PublicURL is the base of Twilio callbacks and ack links, without a
	// trailing slash; default the URL of the first listener that serves
	// Twilio or the ack links (localhost when it has no host or an
	// unspecified one).
	PublicURL string
	// Secret signs the acknowledgement links in mail; required with
	// notify.smtp.
	Secret string
	// TrustedProxies are the addresses of the reverse proxies in front
	// of Klaxon: a request from one is counted, for the limit on failed
	// authentications, against the client its X-Forwarded-For names.
	TrustedProxies []netip.Prefix
	Store          Store
	API            API
	Integrations   []Integration
	Route          *route.Route
	// Table routes alerts: Route, Policies and each integration's labels.
	Table *route.Table
	// Policies are keyed by name.
	Policies map[string]klaxon.Policy
	// Users are keyed by ID.
	Users map[string]klaxon.User
	// WebTokens sign users in to the web console (users' web_token).
	WebTokens []WebToken
	// SchedulesDir is the absolute path of `schedules:`, "" when unset.
	SchedulesDir string
	// Schedules are the schedules of SchedulesDir, keyed by name; empty
	// when it is unset.
	Schedules map[string]*schedule.Schedule
	Notify    Notify
	// Maintenance are the recurring maintenance windows: alerts they
	// match while open page nobody until they close.
	Maintenance []*route.Window
	// Fallback are the IDs of the users paged when a policy's steps ran
	// out and nobody was paged (every step resolved to nobody).
	Fallback []string
	// Sources are the folders of the files the config was read from: the
	// config file's, the policies', the users file's and the schedules'.
	// A change in any of them may change the config.
	Sources []string

	// policyFiles and scheduleFiles name the file of each policy and
	// schedule, as the user named it, for warnings.
	policyFiles   map[string]string
	scheduleFiles map[string]string
	// standIns are the notification rules whose channel is not configured,
	// which the console stands in for.
	standIns []Warning
	// file is the config file as the user named it, for warnings.
	file string
	// listenKeys are the key paths of the listeners, for warnings:
	// "listen[0]", or "listen" for one address.
	listenKeys []string
}

// Integration returns the integration called name.
func (c *Config) Integration(name string) (Integration, bool) {
	for _, in := range c.Integrations {
		if in.Name == name {
			return in, true
		}
	}
	return Integration{}, false
}

// envKeys are the environment variables Load reads, and the keys they set.
// There are no others: KLAXON_API_TOKEN in particular sets nothing (the CLI
// sends it as its own API token), though klaxon.yaml may name it as
// ${KLAXON_API_TOKEN}. An empty variable counts as unset.
//
//	KLAXON_LISTEN      listen
//	KLAXON_PUBLIC_URL  public_url
//	KLAXON_STORE_PATH  store.path
var envKeys = []struct{ env, key string }{
	{"KLAXON_LISTEN", "listen"},
	{"KLAXON_PUBLIC_URL", "public_url"},
	{"KLAXON_STORE_PATH", "store.path"},
}

// maxFileSize bounds every file Load reads.
const maxFileSize = 4 << 20

// file is klaxon.yaml as written.
type file struct {
	Listen       listenSpec    `koanf:"listen"`
	TLS          *TLS          `koanf:"tls"`
	PublicURL    string        `koanf:"public_url"`
	Store        Store         `koanf:"store"`
	API          API           `koanf:"api"`
	Integrations []Integration `koanf:"integrations"`
	Route        route.Spec    `koanf:"route"`
	Policies     string        `koanf:"policies"`
	Users        string        `koanf:"users"`
	Schedules    string        `koanf:"schedules"`
	Notify       Notify        `koanf:"notify"`
	Secret       string        `koanf:"secret"`
	// TrustedProxies are parsed into Config.TrustedProxies.
	TrustedProxies []string `koanf:"trusted_proxies"`
	Fallback       []string `koanf:"fallback"`
	// Maintenance are recurring maintenance windows.
	Maintenance []route.WindowSpec `koanf:"maintenance"`
}

// Load reads the config file at path and the files it names, and returns
// the configuration, or every problem found, joined, each an *Error.
//
// overrides are the command's flags as koanf keys ("listen",
// "store.path"); they win over the environment (see envKeys), which wins
// over the file. Pass only the flags the user set. Relative paths resolve
// against the config file's folder, whatever their source, so a command
// should make a path flag absolute before passing it.
func Load(path string, overrides map[string]any) (*Config, error) {
	return load(path, overrides, true)
}

// Reload loads the config as Load does, for a Klaxon that runs, and does
// not read the listeners' TLS files. A reload cannot change listen (only
// a restart does), and each listener reads its certificate and key again
// by itself when they change, keeping the last good pair while they do
// not load; so a renewal caught halfway, a certificate written before its
// key, must not refuse the reload of everything else.
func Reload(path string, overrides map[string]any) (*Config, error) {
	return load(path, overrides, false)
}

// load is Load, reading the TLS files when tlsFiles is set.
func load(path string, overrides map[string]any, tlsFiles bool) (*Config, error) {
	dir, err := filepath.Abs(filepath.Dir(path))
	if err != nil {
		return nil, &Error{File: path, Msg: err.Error(), err: err}
	}
	probs := &problems{}
	b, err := readFile(path, path)
	if err != nil {
		return nil, err
	}
	k := koanf.New(".")
	if err := k.Load(rawbytes.Provider(b), yaml.Parser()); err != nil {
		return nil, yamlError(path, err)
	}
	if err := oneDocument(b, path); err != nil {
		return nil, err
	}
	env := map[string]any{}
	for _, e := range envKeys {
		if v := os.Getenv(e.env); v != "" {
			env[e.key] = v
		}
	}
	if err := k.Load(confmap.Provider(env, "."), nil); err != nil {
		return nil, fmt.Errorf("load environment: %w", err)
	}
	if len(overrides) > 0 {
		// Check the flags alone first, so that a wrong one is not blamed
		// on the file.
		ko := koanf.New(".")
		if err := ko.Load(confmap.Provider(overrides, "."), nil); err != nil {
			return nil, fmt.Errorf("load flags: %w", err)
		}
		d := decoder{file: "flags", lookup: os.LookupEnv, probs: probs}
		d.decode("", ko.Raw(), reflect.ValueOf(&file{}).Elem())
		if probs.count() > 0 {
			return nil, probs.err()
		}
		if err := k.Load(confmap.Provider(ko.Raw(), ""), nil); err != nil {
			return nil, fmt.Errorf("load flags: %w", err)
		}
	}

	var f file
	d := decoder{file: path, lookup: os.LookupEnv, probs: probs}
	d.decode("", k.Raw(), reflect.ValueOf(&f).Elem())
	l := loader{path: path, dir: dir, lookup: os.LookupEnv, probs: probs, tlsFiles: tlsFiles}
	c := l.build(&f)
	if err := probs.err(); err != nil {
		return nil, err
	}
	labels := make(map[string]map[string]string, len(c.Integrations))
	for _, in := range c.Integrations {
		labels[in.Name] = in.Labels
	}
	c.Table = route.NewTable(c.Route, c.Policies, labels)
	c.Sources = []string{dir}
	for _, p := range []string{f.Policies, f.Schedules} {
		if p != "" {
			c.Sources = append(c.Sources, l.abs(p))
		}
	}
	if f.Users != "" {
		c.Sources = append(c.Sources, filepath.Dir(l.abs(f.Users)))
	}
	slices.Sort(c.Sources)
	c.Sources = slices.Compact(c.Sources)
	return c, nil
}

// loader turns a decoded klaxon.yaml into a Config, loading the files it
// names, and records problems.
type loader struct {
	path      string // the config file, as given to Load
	dir       string // its absolute folder
	users     string // the users file as klaxon.yaml names it
	schedules string // the schedules folder as klaxon.yaml names it
	// scheduleNames are the names the schedule files define, valid or
	// not; nil when a file could not be read, and then schedule targets
	// are not checked.
	scheduleNames map[string]string
	secret        string
	// slack: notify.slack is set, which policies' slack_channel needs.
	slack  bool
	lookup func(string) (string, bool)
	probs  *problems
	// standIns are the rules whose channel is not configured.
	standIns []standIn
	// listenOK: listen is a good list of listeners, which other checks
	// may look at.
	listenOK bool
	// tlsFiles: read the listeners' TLS files, and check that they load
	// as a pair.
	tlsFiles bool
}

func (l *loader) build(f *file) *Config {
	c := &Config{
		Dir:          l.dir,
		PublicURL:    f.PublicURL,
		Secret:       f.Secret,
		Store:        f.Store,
		API:          f.API,
		Integrations: f.Integrations,
		Notify:       f.Notify,
	}
	l.checkServer(c, f)
	c.TrustedProxies = l.trustedProxies(f.TrustedProxies)
	l.checkStore(&c.Store)
	l.checkAPI(c.API)
	l.checkIntegrations(c.Integrations)
	l.secret = c.Secret
	l.checkNotify(&c.Notify)
	l.slack = c.Notify.Slack != nil
	l.checkCallbacks(c)

	r, err := route.New(f.Route)
	l.addFileFieldErrors(l.path, err)
	names := map[string]int{}
	for i, spec := range f.Maintenance {
		path := fmt.Sprintf("maintenance[%d]", i)
		w, errs := route.NewWindow(spec, path)
		l.addFileFieldErrors(l.path, errors.Join(errs...))
		if j, dup := names[spec.Name]; dup && spec.Name != "" {
			l.probs.add(l.path, path+".name", "%q is also the name of maintenance[%d]", spec.Name, j)
		}
		names[spec.Name] = i
		c.Maintenance = append(c.Maintenance, w)
	}
	c.Route = r
	c.file = l.path

	users, usersOK := map[string]klaxon.User{}, true
	l.users = f.Users
	if f.Users != "" {
		users, c.WebTokens, usersOK = l.loadUsers(f.Users, &c.Notify, c.API)
	}
	c.Users = users
	l.checkActors(c)
	l.checkRouteChat("route", f.Route, users, usersOK)
	for _, s := range l.standIns {
		c.standIns = append(c.standIns, s.warning())
	}
	for i, id := range f.Fallback {
		if usersOK && !hasUser(users, id) {
			l.probs.add(l.path, fmt.Sprintf("fallback[%d]", i), "unknown user %q: %s", id, l.noUser())
		}
	}
	c.Fallback = f.Fallback

	c.Schedules, c.scheduleFiles = map[string]*schedule.Schedule{}, map[string]string{}
	l.schedules, l.scheduleNames = f.Schedules, c.scheduleFiles
	if f.Schedules != "" {
		c.SchedulesDir = l.abs(f.Schedules)
		var complete bool
		c.Schedules, c.scheduleFiles, complete = l.loadSchedules(f.Schedules, users, usersOK)
		l.scheduleNames = c.scheduleFiles
		if !complete {
			l.scheduleNames = nil
		}
	}
	l.checkFeedSchedules(c.API.FeedTokens, l.scheduleNames)

	if f.Policies == "" {
		l.probs.add(l.path, "policies", "required: the folder of policy files, like policies/")
		return c
	}
	var complete bool
	c.Policies, c.policyFiles, complete = l.loadPolicies(f.Policies, users, usersOK)
	if complete {
		l.checkRoutePolicies("route", f.Route, c.policyFiles)
	}
	return c
}

// checkRoutePolicies records a policy the route s at path names that no
// policy file defines.
func (l *loader) checkRoutePolicies(path string, s route.Spec, defined map[string]string) {
	if _, ok := defined[s.Policy]; s.Policy != "" && !ok {
		l.probs.add(l.path, path+".policy", "unknown policy %q: no file in policies defines it", s.Policy)
	}
	for i, c := range s.Routes {
		l.checkRoutePolicies(fmt.Sprintf("%s.routes[%d]", path, i), c, defined)
	}
}

// abs resolves p against the config file's folder.
func (l *loader) abs(p string) string {
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	return filepath.Join(l.dir, p)
}

// shown is p as the user would name it: joined to the folder of the config
// file as given to Load.
func (l *loader) shown(p string) string {
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	return filepath.Join(filepath.Dir(l.path), p)
}

// readYAML reads and parses the YAML file at path; errors name it shown.
func readYAML(path, shown string) (map[string]any, error) {
	b, err := readFile(path, shown)
	if err != nil {
		return nil, err
	}
	m, err := yaml.Parser().Unmarshal(b)
	if err != nil {
		return nil, yamlError(shown, err)
	}
	if err := oneDocument(b, shown); err != nil {
		return nil, err
	}
	return m, nil
}

// oneDocument returns an *Error naming shown when b, valid YAML, holds a
// document after its first: the parser reads the first alone, and a
// schedule or overrides after a --- would be dropped without a word. An
// empty document (a --- at the end) is no document.
func oneDocument(b []byte, shown string) error {
	dec := yamlv3.NewDecoder(bytes.NewReader(b))
	for i := 0; ; i++ {
		var doc yamlv3.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) || (err != nil && i == 0) {
			return nil // the first document's errors the parser reported
		}
		// The parser reads the first document alone: a later one that
		// is not even valid YAML is a second document too.
		if i > 0 && (err != nil || len(doc.Content) > 0 && doc.Content[0].Tag != "!!null") {
			return &Error{File: shown, Msg: "a second YAML document (after ---): a file holds one"}
		}
	}
}

// readFile reads the file at path, a regular file of at most maxFileSize
// bytes; errors name it shown.
func readFile(path, shown string) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fileError(shown, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, &Error{File: shown, Msg: "not a regular file"}
	}
	if fi.Size() > maxFileSize {
		return nil, &Error{File: shown, Msg: fmt.Sprintf("larger than %d MiB", maxFileSize>>20)}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fileError(shown, err)
	}
	return b, nil
}

// yamlError is the *Error for a file that is not valid YAML, on one line.
func yamlError(shown string, err error) *Error {
	return &Error{File: shown, Msg: strings.Join(strings.Fields(err.Error()), " ")}
}

// fileError is the *Error for a file that cannot be read.
func fileError(path string, err error) *Error {
	msg := err.Error()
	var pe *fs.PathError
	if errors.As(err, &pe) {
		msg = pe.Err.Error()
	}
	return &Error{File: path, Msg: msg, err: err}
}
