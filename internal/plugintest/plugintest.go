// Package plugintest runs a plugin in-process, exactly as its main does, and
// asserts on the whole outcome: exit code, status line, perfdata, run time.
package plugintest

import (
	"bytes"
	"context"
	"fmt"
	"regexp"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/atc0005/go-nagios"

	"github.com/smtpcheck/smtpcheck/internal/plugin"
	"github.com/smtpcheck/smtpcheck/internal/prefault"
)

// Outcome is one whole plugin run.
type Outcome struct {
	Out     string
	Code    int
	Elapsed time.Duration
}

// Run runs a plugin the way plugins/*/main.go does, output captured. The
// plugin runs on a goroutine of its own, as on main's in a plugin, so that
// Run returns when the watchdog ends a run whose check is stuck: the
// watchdog prints its verdict and signals, where a plugin's exits, and the
// stuck goroutine stays blocked until the test releases it.
func Run[O plugin.Options](t testing.TB, name, service string, opts O, check func(context.Context, O) *plugin.Result, args ...string) Outcome {
	t.Helper()
	var buf bytes.Buffer
	p := nagios.NewPlugin()
	p.SetOutputTarget(&buf)
	p.SkipOSExit()
	start := time.Now()
	returned := make(chan struct{}) // the work gave the verdict (or panicked)
	ended := make(chan struct{})    // the watchdog gave it
	go func() {
		prefault.Stack() // as main's stack is, before the deep calls
		defer close(returned)
		defer func() {
			select {
			case <-ended:
				return // printed by the watchdog's end; the work lost
			default:
			}
			if v := recover(); v != nil {
				// Reported by go-nagios, as main's deferred call does,
				// with the stack of the panic itself.
				stack := debug.Stack()
				func() {
					defer p.ReturnCheckResults()
					panic(fmt.Sprintf("%v\n%s", v, stack))
				}()
				return
			}
			p.ReturnCheckResults()
		}()
		plugin.RunEnding(p, name, service, args, opts, check, func() {
			p.ReturnCheckResults()
			close(ended)
		})
	}()
	select {
	case <-returned:
	case <-ended:
	}
	return Outcome{buf.String(), p.ExitStatusCode, time.Since(start)}
}

var timeRe = regexp.MustCompile(`\d+\.\d{3} s\b`)

// MaskTimes replaces measured times ("0.012 s") by "T s".
func MaskTimes(s string) string { return timeRe.ReplaceAllString(s, "T s") }

// Status is the first line without go-nagios' trailing space or perfdata,
// times masked so that lines compare exactly.
func (o Outcome) Status() string {
	line, _, _ := strings.Cut(o.Out, "\n")
	line, _, _ = strings.Cut(line, " | ")
	return MaskTimes(strings.TrimSpace(line))
}

// Perf is the perfdata part of the output.
func (o Outcome) Perf() string {
	_, perf, _ := strings.Cut(o.Out, " | ")
	return strings.TrimSpace(perf)
}

// Expect asserts the exit code and the exact status line.
func (o Outcome) Expect(t testing.TB, code int, status string) {
	t.Helper()
	if o.Code != code || o.Status() != status {
		t.Errorf("got exit %d, status\n  %q\nwant exit %d, status\n  %q\nwhole output:\n%s", o.Code, o.Status(), code, status, o.Out)
	}
}

// Contains asserts that every part appears in the output.
func (o Outcome) Contains(t testing.TB, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(o.Out, p) {
			t.Errorf("output lacks %q:\n%s", p, o.Out)
		}
	}
}

// Within asserts the run ended inside its -t plus the half second a plugin
// is allowed for printing its verdict.
func (o Outcome) Within(t testing.TB, timeout time.Duration) {
	t.Helper()
	if o.Elapsed > timeout+500*time.Millisecond {
		t.Errorf("run took %v, more than -t %v + 0.5 s", o.Elapsed, timeout)
	}
}
