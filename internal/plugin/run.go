package plugin

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/atc0005/go-nagios"

	"github.com/smtpcheck/smtpcheck/internal/activity"
	_ "github.com/smtpcheck/smtpcheck/internal/prefault" // its init: a cheaper start for every plugin, main's stack grown for the work
)

// setup parses the command line into opts and validates them; ctx carries
// the run's activity tracker for the files they read. parsed, if not nil, is
// called once the flags are parsed, before Validate (which may read files):
// from then on -t is known.
func setup(ctx context.Context, name string, args []string, opts Options, parsed func()) (msg string, err error) {
	rest, msg, err := Parse(ctx, name, args, opts)
	if err == nil {
		if parsed != nil {
			parsed()
		}
		opts.Base().Args = rest
		err = validate(ctx, opts)
	}
	if err == nil && len(opts.Base().Args) > 0 {
		err = Usagef("unexpected argument %q", opts.Base().Args[0])
	}
	return msg, err
}

// setupFailed ends a run that setup stopped: -h and -V print their text and
// exit 3; a bad command line is an UNKNOWN naming the problem, in the
// format the command line's --output asks for: Parse stops at the first bad
// flag, so c may not hold an --output given after it.
func setupFailed(p *nagios.Plugin, name, service string, args []string, c *Common, msg string, err error) {
	if errors.Is(err, ErrHelp) || errors.Is(err, ErrVersion) {
		fmt.Fprint(p.OutputTarget(), msg)
		p.ExitStatusCode = int(Unknown)
		return
	}
	if out, given := outputArg(args); given && out != c.Output {
		cc := *c
		cc.Output = out
		c = &cc
	}
	r := &Result{Service: service}
	r.Add(Unknown, "%s (see %s --help)", err.Error(), name)
	Render(p, r, c)
}

// Validator is implemented by option structs that check themselves after
// parsing. Validate may consume Common.Args (a positional host); any left
// over is an error. The files it reads (--ca-file) are read under ctx.
type Validator interface {
	Validate(ctx context.Context) error
}

func validate(ctx context.Context, opts Options) error {
	if v, ok := opts.(Validator); ok {
		return v.Validate(ctx)
	}
	return nil
}

// parseTimeout bounds reading the command line and its ini files when the
// command line gives no -t: -t's default. A variable for the tests.
var parseTimeout = 10 * time.Second

// timeoutArg is the -t the command line gives, in every spelling Parse
// takes (-t N, -tN, -t=N, --timeout N, --timeout=N and check_smtp's -to N),
// the last one winning as in Parse; ok is false when there is none or the
// last is malformed (Parse refuses it at once). Known before the options are
// parsed, it bounds the reading of ini files: a -t in an ini file, or inside
// a cluster of short flags (-vt 5), is not seen here.
func timeoutArg(args []string) (t Timeout, ok bool) {
	val, given := lastArg(args, "t", "timeout", "-to")
	if !given || t.UnmarshalFlag(val) != nil {
		return Timeout{}, false
	}
	return t, true
}

// outputArg is the --output the command line gives (--output F or
// --output=F; it has no short name), the last one winning as in Parse, for
// a verdict given before the options are parsed (or when their parsing
// failed): a value Parse refuses gives "text", for Parse's error to say
// what is wrong in the format every engine reads. As with timeoutArg, an
// --output in an ini file is not seen here.
func outputArg(args []string) (out string, given bool) {
	val, given := lastArg(args, "", "output")
	if val != "json" {
		val = "text" // the default, and the other choice
	}
	return val, given
}

// lastArg is the value of the last occurrence on the command line of the
// flag named short (none if "") and long, in each spelling go-flags takes
// (-s V, -sV, -s=V, --long V, --long=V) and the legacy ones in more (each
// followed by its value), before "--"; a flag last with no value gives "".
// A spelling inside a cluster of short flags is not seen.
func lastArg(args []string, short, long string, more ...string) (val string, given bool) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			return val, given
		case a == "--"+long || (short != "" && a == "-"+short) || slices.Contains(more, a):
			val, given = "", true
			if i+1 < len(args) {
				i++
				val = args[i]
			}
		case strings.HasPrefix(a, "--"+long+"="):
			val, given = a[len("--"+long+"="):], true
		case short != "" && strings.HasPrefix(a, "-"+short):
			val, given = strings.TrimPrefix(a[len("-"+short):], "="), true
		}
	}
	return val, given
}

// watchdogMargin is how long past -t the watchdog lets a check end on its
// own (its verdict names the phase that timed out) before it gives one:
// well inside the half second after -t by which a plugin must have printed.
const watchdogMargin = 300 * time.Millisecond

// Run is a plugin's life after main has deferred p.ReturnCheckResults:
// parse, start the one deadline, check, render. The work runs on the
// caller's goroutine: handing it to another one (a new goroutine, a thread
// woken for it and for the channel back, one more thread alive at exit)
// cost 0.2–0.3 ms of a 10–12 ms run (check_smtp_conn plain: 1.216 times
// the floor program that way, 1.19 this way). Beside it waits a watchdog,
// a timer with no goroutine until it fires: whatever hangs (a file on a
// dead NFS mount, a helper, a bug), it renders by -t + watchdogMargin one
// verdict that names what hung (package activity) and calls
// p.ReturnCheckResults itself, which prints and exits while the work is
// still stuck. The work and the watchdog claim the verdict: one renders,
// the other never touches p.
func Run[O Options](p *nagios.Plugin, name, service string, args []string, opts O, check func(context.Context, O) *Result) {
	RunEnding(p, name, service, args, opts, check, p.ReturnCheckResults)
}

// The claim on a run's verdict.
const (
	running    = iota
	byWork     // the work renders its verdict, or panics into main's deferred call
	byWatchdog // the watchdog renders stuck and ends the run
)

// RunEnding is Run with end, what ends a run once the watchdog has rendered
// its verdict into p: Run's is p.ReturnCheckResults (print, exit); a test
// harness, whose p does not exit, prints and lets the test go on while the
// work stays stuck. Should the stuck work return or panic later, RunEnding
// returns only after end has, without touching p (a panic then is dropped:
// the verdict is given); the caller must then not call
// p.ReturnCheckResults again.
func RunEnding[O Options](p *nagios.Plugin, name, service string, args []string, opts O, check func(context.Context, O) *Result, end func()) {
	start := time.Now()
	// This run's activities, options' files included, for the watchdog.
	runCtx, tracker := activity.NewContext(context.Background())

	// From the start, the -t the command line gives, or its default; once
	// the options are parsed, theirs (mu guards c and parsing).
	var mu sync.Mutex
	// The --output the command line gives, too: a verdict the watchdog
	// gives while parsing is read by the same engine or script.
	c := Common{Timeout: Timeout{parseTimeout, Critical}}
	c.Output, _ = outputArg(args)
	t, given := timeoutArg(args)
	if given {
		c.Timeout = t
	}
	parsing := !given

	var claim atomic.Int32
	ended := make(chan struct{}) // closed once end has returned
	timer := time.AfterFunc(time.Until(start.Add(c.Timeout.Duration+watchdogMargin)), func() {
		if !claim.CompareAndSwap(running, byWatchdog) {
			return // the work's verdict won
		}
		defer close(ended)
		mu.Lock()
		c, parsing := c, parsing
		mu.Unlock()
		Render(p, stuck(service, c.Timeout, parsing, tracker), &c)
		end()
	})
	defer func() {
		if claim.CompareAndSwap(running, byWork) {
			// A panic: it goes on to main's deferred p.ReturnCheckResults,
			// which reports it as go-nagios does; the watchdog never fires.
			timer.Stop()
			return
		}
		if claim.Load() == byWatchdog {
			<-ended   // in a plugin, end exits: this waits for ever
			recover() // the watchdog's verdict is given
		}
	}()
	// verdict renders the work's verdict, unless the watchdog has claimed
	// the run (the deferred call above then waits until it has ended it).
	verdict := func(render func()) {
		if claim.CompareAndSwap(running, byWork) {
			timer.Stop()
			render()
		}
	}

	msg, err := setup(runCtx, name, args, opts, func() {
		b := opts.Base()
		mu.Lock()
		c, parsing = Common{Timeout: b.Timeout, Output: b.Output, Verbose: b.Verbose}, false
		mu.Unlock()
		if !timer.Reset(time.Until(start.Add(b.Timeout.Duration + watchdogMargin))) {
			// It had fired (its claim settles the run): no second time.
			timer.Stop()
		}
	})
	if err != nil {
		verdict(func() { setupFailed(p, name, service, args, opts.Base(), msg, err) })
		return
	}
	ctx, cancel := opts.Base().Context(runCtx, start)
	defer cancel()
	r := check(ctx, opts)
	if note := engineTimeoutNote(opts.Base().Timeout); note != "" {
		r.Details = append([]string{note}, r.Details...)
	}
	verdict(func() { Render(p, r, opts.Base()) })
}

// engineTimeout is how long a -t may be and still leave the plugin its say:
// Nagios Core kills a check at service_check_timeout (60 s by default),
// Icinga 2 at the command's check_timeout (60 s), with no output and no
// perfdata, so a verdict due later is never seen.
const engineTimeout = 55 * time.Second

// engineTimeoutNote warns, in the long output and without changing the
// state, of a -t the monitoring engine's own timeout may cut short.
func engineTimeoutNote(t Timeout) string {
	if t.Duration <= engineTimeout {
		return ""
	}
	return "note: -t " + strconv.FormatFloat(t.Duration.Seconds(), 'f', -1, 64) + " is above " + Secs(engineTimeout) + " s: Nagios Core (service_check_timeout) and Icinga 2 (check_timeout) kill a check after 60 s by default, with no output and no perfdata; keep -t below the engine's timeout, or raise that"
}

// stuck is the verdict of a run the watchdog ends, naming what was in
// progress: the -t state, but UNKNOWN for the reading of a local file, a
// fault of our own configuration (a dead mount), not of a server.
func stuck(service string, t Timeout, parsing bool, tracker *activity.Tracker) *Result {
	limit := "the " + strconv.FormatFloat(t.Duration.Seconds(), 'f', -1, 64) + " s timeout (-t)"
	if parsing {
		limit += ", the default, as the options were still being read"
	}
	r := &Result{Service: service}
	if what, file := tracker.Current(); what != "" {
		st := t.State
		if file {
			st = Unknown
		}
		r.Add(st, "stuck %s: no verdict within %s; find out why that hangs", what, limit)
	} else {
		r.Add(t.State, "stuck: no verdict within %s; run the check by hand with -v to see where it hangs", limit)
	}
	return r
}
