package plugin

import (
	"fmt"
	"strconv"
	"strings"
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

// Count is n with its noun, plural unless n is 1: "1 message", "2
// messages", "3 searches". Counts in the output come from the run, and a
// run of one is common.
func Count(n int, noun string) string {
	switch {
	case n == 1 || n == -1:
		return strconv.Itoa(n) + " " + noun
	case strings.HasSuffix(noun, "s") || strings.HasSuffix(noun, "sh") || strings.HasSuffix(noun, "ch") || strings.HasSuffix(noun, "x"):
		return strconv.Itoa(n) + " " + noun + "es"
	}
	return strconv.Itoa(n) + " " + noun + "s"
}
