package plugin_test

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/atc0005/go-nagios"

	"github.com/smtpcheck/smtpcheck/internal/plugin"
)

// lockedBuffer is an output target the watchdog and the work may both
// write to, should a broken claim let them.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// answersAtWatchdog answers OK at the very instant the watchdog fires:
// -t + WatchdogMargin.
func answersAtWatchdog(ctx context.Context, _ *opts) *plugin.Result {
	d, _ := ctx.Deadline()
	time.Sleep(time.Until(d.Add(plugin.WatchdogMargin)))
	r := &plugin.Result{Service: "TEST"}
	r.Add(plugin.OK, "answered")
	return r
}

// hangsForEver is a check that never returns.
func hangsForEver(context.Context, *opts) *plugin.Result { select {} }

const raceStuck = "TEST CRITICAL - stuck: no verdict within the 0.1 s timeout (-t); run the check by hand with -v to see where it hangs"

// TestVerdictRace: a verdict that comes just as the watchdog fires gives
// one line, the check's or the watchdog's, never both; and the work that
// lost returns only once the watchdog has ended the run.
func TestVerdictRace(t *testing.T) {
	var wins [2]atomic.Int32 // check, watchdog
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for range 64 {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			var buf lockedBuffer
			p := nagios.NewPlugin()
			p.SetOutputTarget(&buf)
			p.SkipOSExit()
			var ends atomic.Int32
			plugin.RunEnding(p, "check_test", "TEST", []string{"-t", "0.1"}, &opts{}, answersAtWatchdog, func() {
				time.Sleep(5 * time.Millisecond) // the loser must wait for this
				p.ReturnCheckResults()
				ends.Add(1)
			})
			n := ends.Load()
			if n == 0 {
				p.ReturnCheckResults()
			}
			time.Sleep(20 * time.Millisecond) // room for a second verdict
			out := buf.String()
			status, _, _ := strings.Cut(out, " | ")
			switch {
			case strings.Count(out, "\n") != 1 || ends.Load() != n:
				t.Errorf("%d lines, watchdog ended %d then %d times:\n%s", strings.Count(out, "\n"), n, ends.Load(), out)
			case n == 0 && status == "TEST OK - answered" && p.ExitStatusCode == 0:
				wins[0].Add(1)
			case n == 1 && strings.TrimSpace(status) == raceStuck && p.ExitStatusCode == 2:
				wins[1].Add(1)
			default:
				t.Errorf("exit %d, watchdog ended %d times:\n%s", p.ExitStatusCode, n, out)
			}
		})
	}
	wg.Wait()
	t.Logf("the check won %d times, the watchdog %d", wins[0].Load(), wins[1].Load())
}

// TestPanicAfterArmed: a check that panics on main's goroutine, with the
// watchdog armed, is reported by main's deferred p.ReturnCheckResults as
// go-nagios does, and the watchdog, which would call p.ReturnCheckResults
// again, never fires.
func TestPanicAfterArmed(t *testing.T) {
	var buf lockedBuffer
	p := nagios.NewPlugin()
	p.SetOutputTarget(&buf)
	p.SkipOSExit()
	func() {
		defer p.ReturnCheckResults()
		plugin.Run(p, "check_test", "TEST", []string{"-t", "0.1"}, &opts{}, func(context.Context, *opts) *plugin.Result { panic("boom") })
	}()
	time.Sleep(100*time.Millisecond + plugin.WatchdogMargin + 200*time.Millisecond)
	out := buf.String()
	if !strings.HasPrefix(out, "CRITICAL: plugin crash detected.") || !strings.Contains(out, "boom") ||
		strings.Count(out, "plugin crash detected") != 1 || strings.Contains(out, "stuck") {
		t.Errorf("exit %d:\n%s", p.ExitStatusCode, out)
	}
}

// TestWatchdogParsedTimeout: once the options are parsed, their -t bounds
// the run, shorter or longer than the one known before (a -t inside a
// cluster of short flags is not seen before parsing).
func TestWatchdogParsedTimeout(t *testing.T) {
	defer plugin.SetParseTimeout(5 * time.Second)()
	o := run(t, hangs(t, "", false), "-vt", "0.5")
	oneLine(t, o, 2, "TEST CRITICAL - stuck: no verdict within the 0.5 s timeout (-t); run the check by hand with -v to see where it hangs", 500*time.Millisecond)

	plugin.SetParseTimeout(100 * time.Millisecond)
	slow := func(context.Context, *opts) *plugin.Result {
		time.Sleep(700 * time.Millisecond) // past the default and its margin
		r := &plugin.Result{Service: "TEST"}
		r.Add(plugin.OK, "answered")
		return r
	}
	o = run(t, slow, "-vt", "1")
	o.Expect(t, 0, "TEST OK - answered")
}
