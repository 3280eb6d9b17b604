package klaxon

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"
)

// Group is a correlation group as stored: its version and its open
// incident, if any. The group is the unit of compare-and-set.
type Group struct {
	Key string
	// Version counts the group's commits; 0 for a group never written.
	Version uint64
	// Open is the header of the group's open (triggered or acknowledged)
	// incident, or nil. A store may share it with later readers: it is
	// read-only.
	Open *Incident
	// Alerts are what the open incident keeps of the alerts Store.Group
	// was asked for, by key; an alert the incident does not hold is absent.
	// The map is the caller's to change.
	Alerts map[string]Seen
	// Token is the store's name for this state of the group, "" for a
	// store that names states by Version alone. A Redis group whose
	// last commit was lost in a failover can come back to a Version it
	// had: the token tells the two states apart.
	Token string
}

// Commit is one atomic change to a group: it applies only if the group is
// still at Version, and then writes everything it holds together.
type Commit struct {
	Group   string
	Version uint64
	// Token is the Group.Token of the state the commit was computed
	// from: a store that names states refuses the commit, as for
	// Version, once the group is in another state.
	Token string
	// Open is the ID of the group's open incident after the commit; "" when
	// the group has none.
	Open string
	// Incidents are headers, created or replaced, each with its Changed
	// alerts (created or replaced) and its Recorded events (appended to its
	// timeline). An incident that the commit resolves while it is the
	// group's open one leaves the alert index: its alerts are unindexed.
	Incidents []*Incident
	// Index maps alert keys to this group.
	Index []string
	// Moved, when not nil, is where the store adds each key of Index
	// that another group had indexed, with that group: the alert's group
	// changed (a route, or its labels), and that group's incident may
	// still hold it firing. Only ingest asks: it resolves the alert
	// there. A store may add keys before it knows whether the commit
	// applies (a Redis cluster reads them as it writes its entries ahead,
	// and the next attempt finds them written): the caller keeps one
	// Moved across the attempts of a change, and acts on it only once
	// one of them landed. The store also keeps each move it adds, as
	// owed (see Store.OwedMoves), durably with the entry that it read:
	// a crash between the commit and that resolve loses neither.
	Moved *[]Move
	// At is when the commit was computed, by the committer's clock: the
	// time of the moves it tells of.
	At time.Time
	// Timers are set, replacing any timer of the same incident; Cancel
	// removes the timers of the incidents named.
	Timers []Timer
	Cancel []string
	// Claim is the token of the claim the committer holds on the timers
	// it sets or cancels, "" for none. A commit releases a timer's claim
	// only when it carries that claim's token: a timer set, moved or
	// cancelled by anyone else stays claimed until its lease ends, so
	// that its holder, still paging, is not doubled by another claim.
	Claim string
	// Paged names the users the commit newly pages: each one's incident
	// has a page to them (sent or in its outbox) that it did not have
	// before the commit. The store indexes the incident under the user,
	// for PagedIncidents, with the commit. Only the engine's commits that
	// add notifications have any: ingest never pays for the index.
	Paged []Paging
	// Urgent marks the escalation engine's commits (pages, acks, steps):
	// a store writes them ahead of ingest, so that no page waits behind a
	// storm of alerts.
	Urgent bool
}

// Move is a key of a Commit's Index that group From had indexed before
// the commit (see Commit.Moved): the alert moved into group Group, whose
// open incident is To after the commit, at At (the commit's At).
type Move struct {
	Alert, From string
	Group, To   string
	At          time.Time
}

// Paging is a user that a commit newly pages for an incident (see
// Commit.Paged).
type Paging struct {
	User     string
	Incident string
}

// Schedule sets inc's timer in c to due, or cancels it when due is zero:
// the one way ingest and the engine say when an incident next needs the
// engine.
func (c *Commit) Schedule(inc *Incident, due time.Time) {
	if due.IsZero() {
		c.Cancel = append(c.Cancel, inc.ID)
		return
	}
	c.Timers = append(c.Timers, Timer{Incident: inc.ID, Group: inc.Group, Due: due})
}

// Timer is the next moment an incident needs the escalation engine.
type Timer struct {
	Incident string    `json:"incident"`
	Group    string    `json:"group"`
	Due      time.Time `json:"due"`
	// Claim is the token of the claim that returned the timer; Commit and
	// Renew take it back. Stores do not keep it with the timer.
	Claim string `json:"claim,omitempty"`
}

// IncidentFilter selects incidents to list. A zero filter lists every
// open incident.
type IncidentFilter struct {
	States []State
	// Policy and Urgency, when set, keep the incidents of that policy and
	// urgency; Limit counts the incidents kept.
	Policy  string
	Urgency Urgency
	Limit   int
	// Before, an incident ID, lists only the incidents older than it,
	// those a list would give after it: the next page of a list whose
	// last incident it is.
	Before string
}

// Keeps reports whether inc passes the filter's policy and urgency.
func (f IncidentFilter) Keeps(inc *Incident) bool {
	return (f.Policy == "" || inc.Policy.Name == f.Policy) && (f.Urgency == "" || inc.Urgency == f.Urgency)
}

// Narrowed reports whether the filter looks at more than states.
func (f IncidentFilter) Narrowed() bool { return f.Policy != "" || f.Urgency != "" }

// Store is where Klaxon keeps its state durably. Both the embedded store
// and the Redis store implement it, and store/storetest holds the contract
// they pass.
type Store interface {
	// Group reads a group with the header of its open incident and, of the
	// alert keys asked, what that incident keeps of each it holds. A group never
	// written comes back with Version 0 and no error. The open incident
	// may be shared with other readers: callers must not change it (clone
	// it).
	Group(ctx context.Context, key string, alerts []string) (Group, error)
	// Commit applies c if the group is still at c.Version, and returns an
	// error matching ErrConflict if it is not. Once c lands, the store
	// may set the Stored of its incidents' Changed alerts to what it
	// holds of them (see AlertState.Stored).
	Commit(ctx context.Context, c Commit) error
	// NextIncidentID allocates a new, never used incident ID.
	NextIncidentID(ctx context.Context) (string, error)
	// Incident reads one incident's header; ErrNotFound if there is none.
	Incident(ctx context.Context, id string) (*Incident, error)
	// IncidentAlerts reads a page of limit alerts of incident id, in the
	// order of their keys, from cursor ("" for the first page); next is
	// the cursor of the page after, "" after the last. Only the last page
	// holds fewer, and it is not empty unless the incident has no alerts.
	IncidentAlerts(ctx context.Context, id, cursor string, limit int) (alerts []AlertState, next string, err error)
	// Timeline reads up to limit events of incident id's timeline from
	// the offset-th (0 is the first), and how many events it has in all.
	Timeline(ctx context.Context, id string, offset, limit int) (events []Event, total int, err error)
	// Incidents lists incident headers, newest first.
	Incidents(ctx context.Context, f IncidentFilter) ([]*Incident, error)
	// PagedIncidents lists the headers of the open (triggered or
	// acknowledged) incidents that paged user, newest first: those a
	// commit that landed named for user in Paged, or that had a page to
	// user when the store was laid out with the index, and whose header
	// still has a page to user (Incident.Pages). Entries of incidents
	// found no longer open may be dropped from the index as they are
	// found; failing to drop them is not an error.
	PagedIncidents(ctx context.Context, user string) ([]*Incident, error)
	// ClosedAlerts reads the ID of the group's last closed incident (the
	// last that a commit resolved while it was the group's open one, or
	// opened and resolved in one commit), and
	// what it keeps of each of alerts it holds; "" and nil when the group
	// closed none. Ingest asks only when an incident would open: a report
	// late to the closed one (a firing that started before its occurrence
	// resolved) opens none, nor one of an alert it holds firing when it
	// merged into an incident still open.
	ClosedAlerts(ctx context.Context, group string, alerts []string) (id string, seen map[string]Seen, err error)
	// AlertGroups returns the group of each alert key that is indexed.
	AlertGroups(ctx context.Context, keys []string) (map[string]string, error)
	// OwedMoves returns up to about limit of the moves that commits told
	// of (Commit.Moved), made before before, that nobody settled since,
	// in no set order. On a Redis Cluster a move found as a commit wrote
	// its entries ahead is owed before the commit lands, and stays owed
	// if it never does (see ingest's Pipeline.Run).
	OwedMoves(ctx context.Context, before time.Time, limit int) ([]Move, error)
	// SettleMoves forgets owed moves, each as given (a move of the same
	// alert made at another time stays owed).
	SettleMoves(ctx context.Context, moves []Move) error
	// Claim returns up to max timers due at now and leases them until
	// now+lease, under one claim token that each timer carries: no other
	// Claim returns them before the lease ends or a Commit with that
	// token sets them again. next is the earliest time a later Claim
	// could return a timer not returned now (a due time, or the end of a
	// lease); zero when there is no timer left.
	Claim(ctx context.Context, now time.Time, lease time.Duration, max int) (due []Timer, next time.Time, err error)
	// Renew extends until now+lease the claims on timers, each held with
	// its Claim token, and returns the incidents of those whose claim is
	// no longer held with that token (another claim took it after its
	// lease ended, or its holder released it): their holder must stop.
	Renew(ctx context.Context, now time.Time, lease time.Duration, timers []Timer) (lost []string, err error)
	// Ping reports whether the store is reachable.
	Ping(ctx context.Context) error
	Close() error
	OverrideStore
	MaintenanceStore
	ChangeStore
}

// maxAttempts bounds how often Update retries a commit that lost a race.
const maxAttempts = 50

// ReplicaWaiter is a store that can make an answer wait for its
// replicas to hold the writes it answers for (Redis with wait_replicas).
// A barrier is taken before the writes it vouches for (it notes which
// masters take them) and its wait called after them: an error matching
// ErrUnavailable says the writes may be lost (the caller answers 503).
type ReplicaWaiter interface {
	// WaitsForReplicas is false when waits return at once.
	WaitsForReplicas() bool
	Barrier(ctx context.Context, groups []string) (wait func(context.Context) error)
	// ChangesBarrier is Barrier for the change events of integration.
	ChangesBarrier(ctx context.Context, integration string) (wait func(context.Context) error)
	// ForgetChange forgets the digest of a change once its sender was
	// answered 2xx (see Change.Digest).
	ForgetChange(ctx context.Context, integration, digest string) error
}

// Barrier is s's barrier for the writes to groups when s waits for its
// replicas (ReplicaWaiter), else a wait that returns at once.
func Barrier(ctx context.Context, s any, groups []string) (wait func(context.Context) error) {
	if rw, ok := s.(ReplicaWaiter); ok && rw.WaitsForReplicas() {
		return rw.Barrier(ctx, groups)
	}
	return noWait
}

func noWait(context.Context) error { return nil }

// GroupCache is a store that holds what it last committed or read of
// groups, and can answer a read from it with no round trip. What it holds
// may be stale (another replica committed since): the commit computed
// from it is then refused as a conflict, and the store drops what it held.
type GroupCache interface {
	// CachedGroup answers Store.Group(key, alerts) from what the store
	// holds, or reports false when it holds too little.
	CachedGroup(key string, alerts []string) (Group, bool)
}

// GroupClaimer is a store for which claiming the due timers of a few
// groups costs less than a Claim over all of them (Redis, whose Claim
// reads every shard).
type GroupClaimer interface {
	// ClaimGroups is Claim over the timers of groups and of those that
	// share their store's partition: next is the earliest time a later
	// ClaimGroups of the same groups could return another of them.
	ClaimGroups(ctx context.Context, now time.Time, lease time.Duration, limit int, groups []string) (due []Timer, next time.Time, err error)
}

// Queued is a commit that a CommitQueue took.
type Queued interface {
	// Done is closed once the commit's outcome is known.
	Done() <-chan struct{}
	// Wait returns the commit's outcome, as Store.Commit would.
	Wait() error
}

// CommitQueue is a store that takes commits to be written in the order
// they are queued, without waiting for each to be written first, so that
// a group's next commit can be on its way while the one before is being
// made durable.
type CommitQueue interface {
	// Queue queues c and returns at once. With after, a commit of the same
	// group queued before (not Urgent) whose outcome c was computed on
	// (c.Version is after's plus one), c applies only if after did;
	// otherwise Wait returns an error matching ErrConflict. landed, when
	// not nil, is called once c is durable, before Done is closed, on the
	// store's own goroutine and in the order the commits applied: it must
	// be quick and never block. A committer answers its senders there,
	// without waiting to be scheduled itself.
	Queue(ctx context.Context, c Commit, after Queued, landed func()) (Queued, error)
	// AlertsAfter reads, for a commit to be queued after after, what
	// Group would of the group's alerts, and the ID of its open incident
	// ("" for none), whose header the caller computed already. It does
	// not wait for after, nor for the commits after follows, to be
	// durable, and may read what they wrote. A commit computed on it and
	// queued after after applies only if they did.
	AlertsAfter(ctx context.Context, key string, alerts []string, after Queued) (open string, seen map[string]Seen, err error)
}

// Update reads group key, lets fn compute a commit from it, and commits,
// reading again and calling fn again whenever another writer committed
// first. fn returns a nil Commit when there is nothing to write. The
// first read comes from the store's cache when it is a GroupCache that
// holds the group: a group that takes a storm of commits from one
// replica is then read once. fn may be called on that cached state and
// again on the stored one: only a commit that lands proves the cached
// state current, so a nil Commit or an error from it is not final.
//
// alerts are the alert keys whose records fn needs (see Store.Group).
func Update(ctx context.Context, s Store, key string, alerts []string, fn func(Group) (*Commit, error)) error {
	cache, _ := s.(GroupCache)
	for attempt := range maxAttempts {
		var g Group
		cached := false
		if attempt == 0 && cache != nil {
			g, cached = cache.CachedGroup(key, alerts)
		}
		if !cached {
			var err error
			if g, err = s.Group(ctx, key, alerts); err != nil {
				return err
			}
		}
		c, err := fn(g)
		if cached && (err != nil || c == nil) {
			// What the cache holds is proved current only by a commit
			// that lands: "nothing to write" and errors are decided on
			// what the store holds.
			continue
		}
		if err != nil || c == nil {
			return err
		}
		c.Group, c.Version, c.Token = key, g.Version, g.Token
		err = s.Commit(ctx, *c)
		if !errors.Is(err, ErrConflict) {
			return err
		}
	}
	return fmt.Errorf("update group %s: %d attempts lost a race: %w", key, maxAttempts, ErrConflict)
}

// Validate rejects a commit that no store could keep, before any write:
// no group, an incident ID that is empty or over 255 bytes, a nil
// incident, an alert with no key, a timer with no due time or of another
// group, an empty alert key to index, a paging with no user.
func (c *Commit) Validate() error {
	if c.Group == "" {
		return Invalid("group", "empty")
	}
	if c.Open != "" {
		if err := CheckIncidentID(c.Open); err != nil {
			return err
		}
	}
	for _, inc := range c.Incidents {
		if inc == nil {
			return Invalid("incidents", "nil incident")
		}
		if err := CheckIncidentID(inc.ID); err != nil {
			return err
		}
		for _, a := range inc.Changed {
			if a.Key == "" {
				return Invalid("alerts", "incident %s: empty alert key", inc.ID)
			}
		}
	}
	for _, t := range c.Timers {
		if err := CheckIncidentID(t.Incident); err != nil {
			return err
		}
		if t.Due.IsZero() {
			return Invalid("timers", "timer of incident %s has no due time", t.Incident)
		}
		if t.Group != c.Group {
			// Claim hands a timer back with its group, and the commit
			// that sets it again must go to that group.
			return Invalid("timers", "timer of incident %s is in group %q, not %q", t.Incident, t.Group, c.Group)
		}
	}
	if slices.Contains(c.Index, "") {
		return Invalid("index", "empty alert key")
	}
	for _, p := range c.Paged {
		if p.User == "" {
			return Invalid("paged", "incident %s: empty user", p.Incident)
		}
		if err := CheckIncidentID(p.Incident); err != nil {
			return err
		}
	}
	return nil
}

// CheckIncidentID rejects an incident ID that is empty or over 255 bytes.
func CheckIncidentID(id string) error {
	if id == "" || len(id) > 255 {
		return Invalid("id", "incident id %q: want 1 to 255 bytes", id)
	}
	return nil
}

// ParseIncidentID reads v, given for field, as an incident ID: a number,
// written as IDs are ("05" is "5").
func ParseIncidentID(field, v string) (string, error) {
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		return "", Invalid(field, "want an incident ID, got %q", v)
	}
	return strconv.FormatUint(n, 10), nil
}

// TimelineReader reads a page of an incident's timeline: Store's
// Timeline.
type TimelineReader interface {
	Timeline(ctx context.Context, id string, offset, limit int) ([]Event, int, error)
}

// timelinePage is how many events ReadTimeline reads at a time.
const timelinePage = 1000

// ReadTimeline reads the whole timeline of incident id, page by page: for
// the review of an incident, and for tests. Reading a page at a time
// bounds the memory of each call, not of the result.
func ReadTimeline(ctx context.Context, s TimelineReader, id string) ([]Event, error) {
	var out []Event
	for {
		page, total, err := s.Timeline(ctx, id, len(out), timelinePage)
		if err != nil {
			return nil, err
		}
		out = append(out, page...)
		if len(page) == 0 || len(out) >= total {
			return out, nil
		}
	}
}

// IncidentReader reads one incident's header: Store's Incident.
type IncidentReader interface {
	Incident(ctx context.Context, id string) (*Incident, error)
}

// PageWanted reports whether notification n of incident id is still to
// be sent, as the store has it now: the incident is triggered and n is
// in its outbox. A page decided from an earlier read may have waited
// (for its channel, or a person's limit) while someone acknowledged the
// incident or it resolved. The error is the store's when it could not
// tell (an incident not found is not wanted).
func PageWanted(ctx context.Context, s IncidentReader, id string, n int) (bool, error) {
	inc, err := s.Incident(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read incident %s: %w", id, err)
	}
	return inc.State == StateTriggered && slices.ContainsFunc(inc.Pending, func(p Notification) bool { return p.ID == n }), nil
}
