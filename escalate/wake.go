package escalate

import "sync"

// wakes is what the engine was woken for since it last looked: the
// groups whose timers may be due now, or every group. A store that is a
// klaxon.GroupClaimer is then asked for the timers of those groups alone:
// in a storm that opens an incident every few milliseconds, each look
// reads the timers of one group's partition, not of all.
type wakes struct {
	mu     sync.Mutex
	all    bool
	groups map[string]struct{}
}

// add notes groups, or every group when there are none.
func (w *wakes) add(groups []string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(groups) == 0 {
		w.all = true
		return
	}
	if w.all {
		return
	}
	if w.groups == nil {
		w.groups = make(map[string]struct{}, len(groups))
	}
	for _, g := range groups {
		w.groups[g] = struct{}{}
	}
}

// take returns what was noted, and forgets it: the groups, or all.
func (w *wakes) take() (groups []string, all bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	all, w.all = w.all, false
	if !all {
		groups = make([]string, 0, len(w.groups))
		for g := range w.groups {
			groups = append(groups, g)
		}
	}
	clear(w.groups)
	return groups, all
}
