package health

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	"github.com/smtpcheck/smtpcheck/internal/activity"
	"github.com/smtpcheck/smtpcheck/internal/plugin"
)

// check is one profile with its cached result. A probe runs only when the
// result is older than asked and none is running: concurrent requests wait
// for the one in flight (single flight), so a flood costs the mail server
// at most one session per check per max-age.
type check struct {
	name, plugin, service string
	timeout               plugin.Timeout
	run                   func(context.Context) *plugin.Result
	key                   string // the profile's definition: a reload keeps the cache of an unchanged one
	literalPass           bool   // the profile holds a password itself (authpass)

	mu     sync.Mutex
	last   *outcome      // nil until the first probe ends
	flight chan struct{} // closed when the probe in flight has a verdict
	busy   bool          // a probe goroutine is alive (after a watchdog verdict, too)
	probes int64         // probes started, for /metrics
}

// outcome is one probe's verdict.
type outcome struct {
	result    *plugin.Result
	state     plugin.State
	checkedAt time.Time // when the probe started
	duration  time.Duration
}

// env is what probes share: the daemon's lifetime, the bound on probes
// running at once, the log.
type env struct {
	ctx   context.Context // cancelled at shutdown
	slots chan struct{}   // one per probe allowed to run
	log   *slog.Logger
}

// get returns a verdict younger than maxAge, starting a probe if there is
// none and none is running, and waiting (until ctx ends) for the one in
// flight. With wait false it only starts the probe.
func (c *check) get(ctx context.Context, e *env, maxAge time.Duration, wait bool) (*outcome, error) {
	c.mu.Lock()
	if c.last != nil && (time.Since(c.last.checkedAt) < maxAge || c.busy && c.flight == nil) {
		// Fresh, or a stuck probe is still alive: its watchdog verdict
		// stands until it ends, so that stuck probes never pile up.
		o := c.last
		c.mu.Unlock()
		return o, nil
	}
	if c.flight == nil {
		c.flight = make(chan struct{})
		c.busy = true
		c.probes++
		go c.probe(e, c.flight)
	}
	done := c.flight
	c.mu.Unlock()
	if !wait {
		return nil, nil
	}
	select {
	case <-done:
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.last, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// probe runs the check once, under its -t and beside a watchdog: if the
// check has no verdict by -t plus the plugins' margin (a hung file read, a
// bug), the waiting requests get the verdict a plugin would print then,
// and the stuck run keeps the check busy until it ends.
func (c *check) probe(e *env, done chan struct{}) {
	select {
	case e.slots <- struct{}{}:
	case <-e.ctx.Done():
		c.finish(e, done, c.verdict(shutDown(c.service), time.Now(), 0), true)
		return
	}
	start := time.Now()
	runCtx, tracker := activity.NewContext(e.ctx)
	ctx, cancel := context.WithDeadline(runCtx, start.Add(c.timeout.Duration))
	res := make(chan *plugin.Result, 1)
	go func() {
		defer cancel()
		defer func() { <-e.slots }()
		defer func() {
			if v := recover(); v != nil {
				e.log.Error("check panicked", "check", c.name, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
				r := &plugin.Result{Service: c.service}
				r.Add(plugin.Unknown, "internal error in the %s check: see the daemon's log", c.plugin)
				res <- r
			}
		}()
		res <- c.run(ctx)
	}()
	timer := time.NewTimer(c.timeout.Duration + plugin.WatchdogMargin)
	defer timer.Stop()
	select {
	case r := <-res:
		c.finish(e, done, c.verdict(r, start, time.Since(start)), true)
	case <-timer.C:
		c.finish(e, done, c.verdict(plugin.Stuck(c.service, c.timeout, tracker), start, time.Since(start)), false)
		e.log.Warn("check stuck past its timeout; no new probe until it ends", "check", c.name)
		r := <-res
		c.mu.Lock()
		c.busy = false
		c.mu.Unlock()
		e.log.Info("stuck check ended", "check", c.name, "state", r.State().String())
	}
}

func (c *check) verdict(r *plugin.Result, start time.Time, d time.Duration) *outcome {
	return &outcome{result: r, state: r.State(), checkedAt: start, duration: d}
}

// finish publishes a verdict and wakes the waiting requests; over says
// whether the probe's goroutine has ended.
func (c *check) finish(e *env, done chan struct{}, o *outcome, over bool) {
	c.mu.Lock()
	prev := c.last
	c.last = o
	c.flight = nil
	if over {
		c.busy = false
	}
	c.mu.Unlock()
	close(done)
	if prev == nil || prev.state != o.state {
		from := "none"
		if prev != nil {
			from = prev.state.String()
		}
		// The summary names no secret: the plugins' judges never put one
		// in a finding.
		e.log.Info("state changed", "check", c.name, "from", from, "to", o.state.String(), "summary", o.result.Summary())
	}
}

func shutDown(service string) *plugin.Result {
	r := &plugin.Result{Service: service}
	r.Add(plugin.Unknown, "not checked: the daemon is shutting down")
	return r
}
