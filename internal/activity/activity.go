// Package activity remembers what a plugin is doing right now, so that the
// watchdog of package plugin can name what hung when it has to end a run
// that missed its -t. The file reader (package boundedfile) records its
// reads; the probe's phases can record themselves with Start as well.
package activity

import (
	"slices"
	"sync"
)

var (
	mu   sync.Mutex
	live []*string // started and not yet ended, oldest first
)

// Start records what (a phrase that reads after "stuck": "reading --ca-file
// /etc/x.pem", "in the banner phase") until the returned end is called.
// Activities may overlap (a background read beside a session phase): the
// latest one still running is the one reported.
func Start(what string) (end func()) {
	p := &what
	mu.Lock()
	live = append(live, p)
	mu.Unlock()
	return func() {
		mu.Lock()
		live = slices.DeleteFunc(live, func(q *string) bool { return q == p })
		mu.Unlock()
	}
}

// Current is the latest activity still running, "" when none is.
func Current() string {
	mu.Lock()
	defer mu.Unlock()
	if len(live) == 0 {
		return ""
	}
	return *live[len(live)-1]
}
