package plugin_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/atc0005/go-nagios"

	"github.com/smtpcheck/smtpcheck/internal/activity"
	"github.com/smtpcheck/smtpcheck/internal/plugin"
	"github.com/smtpcheck/smtpcheck/internal/plugintest"
)

type opts struct {
	plugin.Common
	Block blocker `long:"block" value-name:"FILE"`
}

// blocker is a flag whose parsing hangs, as a read of an ini file on a
// dead file system would, until the test ends.
type blocker string

var unblock chan struct{}

func (*blocker) UnmarshalFlag(file string) error {
	defer activity.Start("reading --extra-opts " + file)()
	<-unblock
	return nil
}

// hangs is a check stuck in what until the test ends.
func hangs(t *testing.T, what string) func(context.Context, *opts) *plugin.Result {
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	return func(context.Context, *opts) *plugin.Result {
		if what != "" {
			defer activity.Start(what)()
		}
		<-release
		return &plugin.Result{Service: "TEST"}
	}
}

// The tests share package activity's register: they do not run in parallel,
// except with a child process.
func run(t *testing.T, check func(context.Context, *opts) *plugin.Result, args ...string) plugintest.Outcome {
	return plugintest.Run(t, "check_test", "TEST", &opts{}, check, args...)
}

// oneLine asserts the exit code, the one line printed and the time taken:
// from -t to -t + 0.5 s.
func oneLine(t *testing.T, o plugintest.Outcome, code int, status string, timeout time.Duration) {
	t.Helper()
	o.Expect(t, code, status)
	if n := strings.Count(o.Out, "\n"); n != 1 {
		t.Errorf("%d lines printed, want 1:\n%s", n, o.Out)
	}
	if o.Elapsed < timeout {
		t.Errorf("ended after %v, before -t %v", o.Elapsed, timeout)
	}
	o.Within(t, timeout)
}

func TestWatchdog(t *testing.T) {
	o := run(t, hangs(t, "reading --ca-file /mnt/dead/ca.pem"), "-t", "0.5")
	oneLine(t, o, 2, "TEST CRITICAL - stuck reading --ca-file /mnt/dead/ca.pem: no verdict within the 0.5 s timeout (-t); find out why that hangs", 500*time.Millisecond)
}

func TestWatchdogTimeoutState(t *testing.T) {
	o := run(t, hangs(t, ""), "-t", "0.5:UNKNOWN")
	oneLine(t, o, 3, "TEST UNKNOWN - stuck: no verdict within the 0.5 s timeout (-t); run the check by hand with -v to see where it hangs", 500*time.Millisecond)
}

func TestWatchdogJSON(t *testing.T) {
	o := run(t, hangs(t, "in the banner phase"), "-t", "0.5", "--output", "json")
	var got struct {
		State   string
		Summary string
	}
	if err := json.Unmarshal([]byte(o.Out), &got); err != nil || o.Code != 2 || got.State != "CRITICAL" ||
		got.Summary != "stuck in the banner phase: no verdict within the 0.5 s timeout (-t); find out why that hangs" {
		t.Errorf("exit %d, %v:\n%s", o.Code, err, o.Out)
	}
}

// Before the options are parsed, -t's default bounds the run.
func TestWatchdogWhileParsing(t *testing.T) {
	defer plugin.SetParseTimeout(500 * time.Millisecond)()
	ch := make(chan struct{})
	unblock = ch
	t.Cleanup(func() { close(ch) })
	o := run(t, hangs(t, ""), "-t", "5:UNKNOWN", "--block", "/mnt/dead/plugins.ini")
	oneLine(t, o, 2, "TEST CRITICAL - stuck reading --extra-opts /mnt/dead/plugins.ini: no verdict within the 0.5 s timeout (-t), the default, as the options were still being read; find out why that hangs", 500*time.Millisecond)
}

// A check that ends on its own shortly after -t gives its own verdict (it
// names the phase); the watchdog only ends what is stuck.
func TestWatchdogLetsTheCheckAnswer(t *testing.T) {
	late := func(ctx context.Context, _ *opts) *plugin.Result {
		<-ctx.Done()
		time.Sleep(100 * time.Millisecond)
		r := &plugin.Result{Service: "TEST"}
		r.Add(plugin.Critical, "banner: no answer within the 0.5 s timeout")
		return r
	}
	o := run(t, late, "-t", "0.5")
	oneLine(t, o, 2, "TEST CRITICAL - banner: no answer within the 0.5 s timeout", 500*time.Millisecond)
}

// TestWatchdogProcess runs the whole lifecycle of a plugin's main in a
// child process: the watchdog's verdict is printed once by main's deferred
// p.ReturnCheckResults, which exits while the check is still stuck.
func TestWatchdogProcess(t *testing.T) {
	if os.Getenv("SMTPCHECK_WATCHDOG_CHILD") == "1" {
		p := nagios.NewPlugin()
		defer p.ReturnCheckResults()
		plugin.Run(p, "check_test", "TEST", []string{"-t", "0.5"}, &opts{}, func(context.Context, *opts) *plugin.Result {
			defer activity.Start("reading --password-ref file:/mnt/dead/pass")()
			select {}
		})
		return
	}
	t.Parallel()
	cmd := exec.Command(os.Args[0], "-test.run=^TestWatchdogProcess$")
	cmd.Env = append(os.Environ(), "SMTPCHECK_WATCHDOG_CHILD=1")
	start := time.Now()
	out, err := cmd.Output()
	elapsed := time.Since(start)
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 2 {
		t.Errorf("exit: %v", err)
	}
	o := plugintest.Outcome{Out: string(out), Code: 2, Elapsed: elapsed}
	oneLine(t, o, 2, "TEST CRITICAL - stuck reading --password-ref file:/mnt/dead/pass: no verdict within the 0.5 s timeout (-t); find out why that hangs", 500*time.Millisecond)
}

// A check that panics is still reported by main's deferred
// p.ReturnCheckResults, as go-nagios does, though it ran beside Run.
func TestPanicReported(t *testing.T) {
	o := run(t, func(context.Context, *opts) *plugin.Result { panic("boom") }, "-t", "5")
	if o.Code != 2 || o.Status() != "CRITICAL: plugin crash detected. See details via web UI or run plugin manually via CLI." || !strings.Contains(o.Out, "boom") {
		t.Errorf("exit %d:\n%s", o.Code, o.Out)
	}
}
