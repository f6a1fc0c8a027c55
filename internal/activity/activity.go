// Package activity remembers what one run of a plugin is doing right now,
// so that the watchdog of package plugin can name what hung when it has to
// end a run that missed its -t. Each run has its own Tracker, carried in its
// context: runs side by side in one process (tests, a health endpoint) never
// see each other's activities. The file reader (package boundedfile) records
// its reads; the probe's phases and the secret helper record themselves.
package activity

import (
	"context"
	"slices"
	"sync"
)

// Tracker is what one run has started and not yet ended.
type Tracker struct {
	mu   sync.Mutex
	live []*entry // oldest first
}

type entry struct {
	what string
	file bool
}

type key struct{}

// NewContext returns ctx carrying a new Tracker, and the Tracker.
func NewContext(ctx context.Context) (context.Context, *Tracker) {
	t := &Tracker{}
	return context.WithValue(ctx, key{}, t), t
}

// Start records what (a phrase that reads after "stuck": "in the banner
// phase of ...") in ctx's Tracker until the returned end is called. Without
// a Tracker in ctx it records nothing. Activities may overlap (a background
// read beside a session phase): the latest one still running is reported.
func Start(ctx context.Context, what string) (end func()) { return start(ctx, what, false) }

// StartFile is Start for reading a local file ("reading --ca-file
// /etc/x.pem"): when such a read hangs, the fault is in our own
// configuration, not in a server.
func StartFile(ctx context.Context, what string) (end func()) { return start(ctx, what, true) }

func start(ctx context.Context, what string, file bool) func() {
	t, _ := ctx.Value(key{}).(*Tracker)
	if t == nil {
		return func() {}
	}
	e := &entry{what, file}
	t.mu.Lock()
	t.live = append(t.live, e)
	t.mu.Unlock()
	return func() {
		t.mu.Lock()
		t.live = slices.DeleteFunc(t.live, func(q *entry) bool { return q == e })
		t.mu.Unlock()
	}
}

// Current is the latest activity still running ("" when none is), and
// whether it is the reading of a local file.
func (t *Tracker) Current() (what string, file bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.live) == 0 {
		return "", false
	}
	e := t.live[len(t.live)-1]
	return e.what, e.file
}
