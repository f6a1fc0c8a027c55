package plugin

import (
	"fmt"
	"time"
)

// OrNone shows an empty list (of mechanisms, extensions, names) as "none",
// so that a detail line never ends in a bare colon.
func OrNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// Elapsed shows a measured time for a status line, always with three
// decimals ("0.120"): unlike Secs (for limits the user gave), so that times
// line up and tests can mask them.
func Elapsed(d time.Duration) string { return fmt.Sprintf("%.3f", d.Seconds()) }
