package main

import (
	"fmt"
	"time"
)

// contender is one plugin command line in a tls or auth mode comparison.
type contender struct {
	name string
	bin  string
	args []string
	s    side
}

// compete runs the contenders interleaved, rotating who goes first so that
// warm caches and drift hit all alike, for n rounds or until maxTime.
func compete(cs []*contender, n, warmup int, maxTime time.Duration) (rounds int) {
	for i := range warmup {
		for _, c := range cs {
			measure(c.bin, c.args, nil, i)
		}
	}
	deadline := time.Now().Add(maxTime)
	for ; rounds < n && time.Now().Before(deadline); rounds++ {
		for k := range cs {
			c := cs[(rounds+k)%len(cs)]
			measure(c.bin, c.args, &c.s, rounds)
		}
	}
	return rounds
}

// table prints each contender's wall time and RSS, and its median wall
// time as a ratio of ref's.
func table(cs []*contender, ref *contender, rounds int) {
	fmt.Printf("%-20s %5s  %-20s %-12s  %s\n", "plugin", "ok", "wall ms (p50/p90)", "RSS MiB p50", "wall vs "+ref.name)
	for _, c := range cs {
		ratio := "-"
		if len(c.s.wall) > 0 && len(ref.s.wall) > 0 {
			ratio = fmt.Sprintf("%.3f×", pct(c.s.wall, 50)/pct(ref.s.wall, 50))
		}
		rss := "-"
		if len(c.s.rss) > 0 {
			rss = fmt.Sprintf("%.2f", pct(c.s.rss, 50))
		}
		fmt.Printf("%-20s %2d/%-2d  %-20s %-12s  %s\n", c.name, len(c.s.wall), rounds, pair(c.s.wall), rss, ratio)
		if c.s.status != "" {
			st := c.s.status
			if len(st) > 150 {
				st = st[:150] + "..."
			}
			fmt.Printf("  last verdict: %s\n", st)
		}
		if c.s.fails > 0 {
			fmt.Printf("  %s failed %d times: %s\n", c.name, c.s.fails, c.s.lastErr)
		}
	}
}
