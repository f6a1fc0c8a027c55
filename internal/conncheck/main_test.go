package conncheck

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/atc0005/go-nagios"
	"go.uber.org/goleak"

	"github.com/smtpcheck/smtpcheck/internal/plugin"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// outcome is one whole plugin run, in-process, the way main runs it.
type outcome struct {
	out     string
	code    int
	elapsed time.Duration
}

func check(t *testing.T, args ...string) outcome {
	t.Helper()
	var buf bytes.Buffer
	p := nagios.NewPlugin()
	p.SetOutputTarget(&buf)
	p.SkipOSExit()
	start := time.Now()
	func() {
		defer p.ReturnCheckResults()
		var o Options
		plugin.Run(p, Name, Service, args, &o, Check)
	}()
	return outcome{buf.String(), p.ExitStatusCode, time.Since(start)}
}

// status is the first line without go-nagios' trailing space, with the
// measured times masked so that lines compare exactly.
func (o outcome) status() string {
	line, _, _ := strings.Cut(o.out, "\n")
	line, _, _ = strings.Cut(line, " | ")
	return maskTimes(strings.TrimSpace(line))
}

var timeRe = regexp.MustCompile(`\d+\.\d{3} s\b`)

func maskTimes(s string) string { return timeRe.ReplaceAllString(s, "T s") }

// perf returns the perfdata part of the output.
func (o outcome) perf() string {
	_, perf, _ := strings.Cut(o.out, " | ")
	return strings.TrimSpace(perf)
}

func (o outcome) expect(t *testing.T, code int, status string) {
	t.Helper()
	if o.code != code || o.status() != status {
		t.Errorf("got exit %d, status\n  %q\nwant exit %d, status\n  %q\nwhole output:\n%s", o.code, o.status(), code, status, o.out)
	}
}

// within asserts the run ended inside its -t plus the half second the
// plugin is allowed for printing its verdict.
func (o outcome) within(t *testing.T, timeout time.Duration) {
	t.Helper()
	if o.elapsed > timeout+500*time.Millisecond {
		t.Errorf("run took %v, more than -t %v + 0.5 s", o.elapsed, timeout)
	}
}

var regexpNum = regexp.MustCompile(`=[0-9.]+s`)
