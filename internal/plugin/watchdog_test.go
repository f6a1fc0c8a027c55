package plugin_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/atc0005/go-nagios"

	"github.com/smtpcheck/smtpcheck/internal/activity"
	"github.com/smtpcheck/smtpcheck/internal/plugin"
	"github.com/smtpcheck/smtpcheck/internal/plugintest"
)

type opts struct {
	plugin.Common
	Block   blocker `long:"block"`
	CAFile  string  `long:"ca-file"`
	hangsCA chan struct{}
}

// blocker is a flag whose parsing hangs until the test ends, as the
// reading of an ini file on a dead file system would.
type blocker string

var unblock chan struct{}

func (*blocker) UnmarshalFlag(string) error {
	<-unblock
	return nil
}

// Validate reads --ca-file as a plugin does, hanging in it while hangsCA
// is open.
func (o *opts) Validate(ctx context.Context) error {
	if o.CAFile != "" && o.hangsCA != nil {
		defer activity.StartFile(ctx, "reading --ca-file "+o.CAFile)()
		<-o.hangsCA
	}
	return nil
}

// hangs is a check stuck in what until the test ends: a local file's
// reading when file is true, else a network phase or a helper.
func hangs(t *testing.T, what string, file bool) func(context.Context, *opts) *plugin.Result {
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	return func(ctx context.Context, _ *opts) *plugin.Result {
		switch {
		case file:
			defer activity.StartFile(ctx, what)()
		case what != "":
			defer activity.Start(ctx, what)()
		}
		<-release
		return &plugin.Result{Service: "TEST"}
	}
}

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

// A hung network phase or helper gives the -t state.
func TestWatchdog(t *testing.T) {
	o := run(t, hangs(t, "running smtpcheck-secret for a vault: reference", false), "-t", "0.5:WARNING")
	oneLine(t, o, 1, "TEST WARNING - stuck running smtpcheck-secret for a vault: reference: no verdict within the 0.5 s timeout (-t); find out why that hangs", 500*time.Millisecond)
}

// A hung read of a local file is our own configuration's fault: UNKNOWN,
// whatever state -t gives a timeout.
func TestWatchdogFileUnknown(t *testing.T) {
	o := run(t, hangs(t, "reading --ca-file /mnt/dead/ca.pem", true), "-t", "0.5")
	oneLine(t, o, 3, "TEST UNKNOWN - stuck reading --ca-file /mnt/dead/ca.pem: no verdict within the 0.5 s timeout (-t); find out why that hangs", 500*time.Millisecond)
}

func TestWatchdogTimeoutState(t *testing.T) {
	o := run(t, hangs(t, "", false), "-t", "0.5:UNKNOWN")
	oneLine(t, o, 3, "TEST UNKNOWN - stuck: no verdict within the 0.5 s timeout (-t); run the check by hand with -v to see where it hangs", 500*time.Millisecond)
}

func TestWatchdogJSON(t *testing.T) {
	o := run(t, hangs(t, "in the banner phase", false), "-t", "0.5", "--output", "json")
	var got struct {
		State   string
		Summary string
	}
	if err := json.Unmarshal([]byte(o.Out), &got); err != nil || o.Code != 2 || got.State != "CRITICAL" ||
		got.Summary != "stuck in the banner phase: no verdict within the 0.5 s timeout (-t); find out why that hangs" {
		t.Errorf("exit %d, %v:\n%s", o.Code, err, o.Out)
	}
}

// Before the options are parsed, the -t of the command line bounds the run,
// in any spelling, with its state; without one, -t's default does.
func TestWatchdogWhileParsing(t *testing.T) {
	defer plugin.SetParseTimeout(500 * time.Millisecond)()
	ch := make(chan struct{})
	unblock = ch
	t.Cleanup(func() { close(ch) })
	o := run(t, hangs(t, "", false), "--block", "x")
	oneLine(t, o, 2, "TEST CRITICAL - stuck: no verdict within the 0.5 s timeout (-t), the default, as the options were still being read; run the check by hand with -v to see where it hangs", 500*time.Millisecond)
	for _, args := range [][]string{
		{"-v", "-t", "0.7:UNKNOWN", "--block", "x"},
		{"-t=0.7:UNKNOWN", "--block", "x"},
		{"-t0.7:UNKNOWN", "--block", "x"},
		{"--timeout", "9", "--block", "x", "--timeout=0.7:UNKNOWN"},
		{"-to", "0.7:UNKNOWN", "--block", "x"},
	} {
		o := run(t, hangs(t, "", false), args...)
		oneLine(t, o, 3, "TEST UNKNOWN - stuck: no verdict within the 0.7 s timeout (-t); run the check by hand with -v to see where it hangs", 700*time.Millisecond)
	}
}

// A -t that is not a number of seconds from 0.1 to 3600 is a usage error
// at once, never a run (NaN once gave exit 0 without contacting anything).
func TestTimeoutRefused(t *testing.T) {
	for _, v := range []string{"NaN:OK", "Inf", "1e-300"} {
		o := run(t, answers, "-t", v)
		if o.Code != 3 || !strings.HasPrefix(o.Status(), "TEST UNKNOWN - -t") || o.Elapsed > time.Second {
			t.Errorf("-t %s: exit %d after %v:\n%s", v, o.Code, o.Elapsed, o.Out)
		}
	}
}

// Validate's reading of a file is named (the parse phase has the run's
// activity tracker), and UNKNOWN.
func TestWatchdogWhileValidating(t *testing.T) {
	o := &opts{hangsCA: make(chan struct{})}
	defer close(o.hangsCA)
	out := plugintest.Run(t, "check_test", "TEST", o, hangs(t, "", false), "-t", "0.5", "--ca-file", "/mnt/dead/ca.pem")
	oneLine(t, out, 3, "TEST UNKNOWN - stuck reading --ca-file /mnt/dead/ca.pem: no verdict within the 0.5 s timeout (-t); find out why that hangs", 500*time.Millisecond)
}

// Runs side by side in one process each name only what they are stuck in.
func TestWatchdogRunsApart(t *testing.T) {
	var wg sync.WaitGroup
	outs := make([]plugintest.Outcome, 2)
	wg.Go(func() { outs[0] = run(t, hangs(t, "in the banner phase of a", false), "-t", "0.5") })
	wg.Go(func() { outs[1] = run(t, hangs(t, "", false), "-t", "0.6") })
	wg.Wait()
	oneLine(t, outs[0], 2, "TEST CRITICAL - stuck in the banner phase of a: no verdict within the 0.5 s timeout (-t); find out why that hangs", 500*time.Millisecond)
	oneLine(t, outs[1], 2, "TEST CRITICAL - stuck: no verdict within the 0.6 s timeout (-t); run the check by hand with -v to see where it hangs", 600*time.Millisecond)
}

// A check that ends on its own shortly after -t gives its own verdict (it
// names the phase); the watchdog only ends what is stuck.
func TestWatchdogLetsTheCheckAnswer(t *testing.T) {
	late := func(ctx context.Context, _ *opts) *plugin.Result {
		<-ctx.Done()
		time.Sleep(20 * time.Millisecond)
		r := &plugin.Result{Service: "TEST"}
		r.Add(plugin.Critical, "banner: no answer within the 0.5 s timeout")
		return r
	}
	o := run(t, late, "-t", "0.5")
	oneLine(t, o, 2, "TEST CRITICAL - banner: no answer within the 0.5 s timeout", 500*time.Millisecond)
}

// TestWatchdogProcess runs the whole lifecycle of a plugin's main in a
// child process, the work on the child's goroutine as on main's: the
// watchdog prints its verdict once and exits while the work is still stuck
// (in the check, or in reading the options). The child says when Run
// began (on stderr), so that the time to start a test binary on a loaded
// machine does not count; the time to end it does.
func TestWatchdogProcess(t *testing.T) {
	checks := map[string]func(context.Context, *opts) *plugin.Result{
		"check": func(ctx context.Context, _ *opts) *plugin.Result {
			defer activity.Start(ctx, "in the AUTH phase of mx.example.org")()
			select {}
		},
		"parse": hangsForEver, // blocked in --block
		"race":  answersAtWatchdog,
	}
	if mode := os.Getenv("SMTPCHECK_WATCHDOG_CHILD"); mode != "" {
		p := nagios.NewPlugin()
		defer p.ReturnCheckResults()
		fmt.Fprintf(os.Stderr, "run began at %d ns\n", time.Now().UnixNano())
		plugin.Run(p, "check_test", "TEST", strings.Fields(os.Getenv("SMTPCHECK_WATCHDOG_ARGS")), &opts{}, checks[mode])
		return
	}
	t.Parallel()
	child := func(t *testing.T, mode string, args ...string) plugintest.Outcome {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestWatchdogProcess$")
		cmd.Env = append(os.Environ(), "SMTPCHECK_WATCHDOG_CHILD="+mode, "SMTPCHECK_WATCHDOG_ARGS="+strings.Join(args, " "),
			"GORACE="+os.Getenv("GORACE")+" atexit_sleep_ms=0") // with -race, an exit 0 otherwise sleeps 1 s
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		ended := time.Now()
		var ee *exec.ExitError
		code := 0
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatalf("%s: %v", mode, err)
		}
		var ns int64
		if _, err := fmt.Sscanf(stderr.String(), "run began at %d ns", &ns); err != nil {
			t.Fatalf("the child did not say when Run began: %v\n%s", err, stderr.String())
		}
		return plugintest.Outcome{Out: string(out), Code: code, Elapsed: ended.Sub(time.Unix(0, ns))}
	}
	oneLine(t, child(t, "check", "-t", "0.5"), 2, "TEST CRITICAL - stuck in the AUTH phase of mx.example.org: no verdict within the 0.5 s timeout (-t); find out why that hangs", 500*time.Millisecond)
	oneLine(t, child(t, "parse", "-t", "0.5:UNKNOWN", "--block", "x"), 3, "TEST UNKNOWN - stuck: no verdict within the 0.5 s timeout (-t); run the check by hand with -v to see where it hangs", 500*time.Millisecond)
	// The check's verdict and the watchdog's come at the same instant:
	// whichever wins, one line.
	for range 6 {
		o := child(t, "race", "-t", "0.1")
		if o.Code == 0 {
			oneLine(t, o, 0, "TEST OK - answered", 100*time.Millisecond)
		} else {
			oneLine(t, o, 2, raceStuck, 100*time.Millisecond)
		}
	}
}

// A check that panics is still reported by main's deferred
// p.ReturnCheckResults, as go-nagios does.
func TestPanicReported(t *testing.T) {
	o := run(t, func(context.Context, *opts) *plugin.Result { panic("boom") }, "-t", "5")
	if o.Code != 2 || o.Status() != "CRITICAL: plugin crash detected. See details via web UI or run plugin manually via CLI." || !strings.Contains(o.Out, "boom") {
		t.Errorf("exit %d:\n%s", o.Code, o.Out)
	}
}
