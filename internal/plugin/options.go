package plugin

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	flags "github.com/jessevdk/go-flags"
)

// Version is stamped at build time with -ldflags "-X ...plugin.Version=v1.2.3".
var Version = ""

// VersionString is the version to print: the stamped one, else the module's.
func VersionString() string {
	if Version != "" {
		return Version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

// Timeout is -t N[:STATE]: seconds (fractions allowed) and the state a
// timeout yields, CRITICAL unless given, as in monitoring-plugins.
type Timeout struct {
	Duration time.Duration
	State    State
}

// UnmarshalFlag parses "10", "2.5", "10s" or "10:UNKNOWN".
func (t *Timeout) UnmarshalFlag(s string) error {
	num, st, hasState := strings.Cut(s, ":")
	state := Critical
	if hasState {
		var err error
		if state, err = ParseState(st); err != nil {
			return err
		}
	}
	secs, err := strconv.ParseFloat(strings.TrimSuffix(num, "s"), 64)
	if err != nil || secs <= 0 || secs > 3600 {
		return fmt.Errorf("timeout %q: want seconds between 0 and 3600, optionally :STATE", s)
	}
	t.Duration, t.State = time.Duration(secs*float64(time.Second)), state
	return nil
}

// MarshalFlag shows the default in help.
func (t Timeout) MarshalFlag() (string, error) {
	s := strconv.FormatFloat(t.Duration.Seconds(), 'f', -1, 64)
	if t.State != Critical {
		s += ":" + t.State.String()
	}
	return s, nil
}

// Common are the options every plugin takes.
type Common struct {
	Timeout   Timeout `short:"t" long:"timeout" default:"10" value-name:"SECONDS[:STATE]" description:"End the check after this many seconds, with STATE (default CRITICAL)"`
	Verbose   []bool  `short:"v" long:"verbose" description:"More detail; -v adds the SMTP transcript (secrets redacted), -vv its timings"`
	Output    string  `long:"output" choice:"text" choice:"json" default:"text" description:"Output format: Nagios text or one JSON object (same exit code)"`
	ExtraOpts string  `long:"extra-opts" optional:"yes" value-name:"[SECTION][@FILE]" description:"Read options from an ini file, as monitoring-plugins does (default section: the plugin's name)"`
	Version   bool    `short:"V" long:"version" description:"Print the version and exit"`

	Args []string `no-flag:"true"` // positional arguments left after parsing

	given func(long string) bool // set by Parse
}

// Given reports whether the command line (or --extra-opts) gave the option
// with this long name, so that a zero it gave can be told from "not given".
func (c *Common) Given(long string) bool { return c.given != nil && c.given(long) }

// Base gives the shared layer access to the common options of any plugin's
// option struct that embeds Common.
func (c *Common) Base() *Common { return c }

// Options is any plugin option struct embedding Common.
type Options interface{ Base() *Common }

// Context starts the one deadline of the run: -t after start, when the run
// began, so that the time spent reading options and files counts as well.
func (c *Common) Context(start time.Time) (context.Context, context.CancelFunc) {
	return context.WithDeadline(context.Background(), start.Add(c.Timeout.Duration))
}

// Verbosity is how many -v were given.
func (c *Common) Verbosity() int { return len(c.Verbose) }

// ErrHelp and ErrVersion end a run with exit code 3 after printing text.
var (
	ErrHelp    = errors.New("help requested")
	ErrVersion = errors.New("version requested")
)

// UsageError is a command line the plugin cannot run with.
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

// Usagef builds a UsageError.
func Usagef(format string, args ...any) error { return &UsageError{Msg: fmt.Sprintf(format, args...)} }

// NewParser returns the go-flags parser every plugin uses: no PrintErrors
// (the plugin prints its verdict itself) and no `required` tags anywhere, so
// -h and -V always work.
func NewParser(name string, opts Options) *flags.Parser {
	p := flags.NewParser(opts, flags.HelpFlag|flags.PassDoubleDash)
	p.Name = name
	return p
}

// Parse fills opts from args: legacy -to/-wt/-ct rewritten, --extra-opts
// expanded, flags parsed. Text to print for -h/-V comes back in msg with
// ErrHelp or ErrVersion; a bad command line gives a *UsageError.
func Parse(name string, args []string, opts Options) (rest []string, msg string, err error) {
	args, err = expandExtraOpts(name, rewriteLegacy(args))
	if err != nil {
		return nil, "", &UsageError{Msg: err.Error()}
	}
	p := NewParser(name, opts)
	rest, err = p.ParseArgs(args)
	var fe *flags.Error
	switch {
	case errors.As(err, &fe) && fe.Type == flags.ErrHelp:
		return nil, fe.Message, ErrHelp
	case opts.Base().Version:
		return nil, fmt.Sprintf("%s %s\n", name, VersionString()), ErrVersion
	case err != nil:
		return nil, "", &UsageError{Msg: flagMessage(err)}
	}
	opts.Base().given = func(long string) bool {
		o := p.FindOptionByLongName(long)
		return o != nil && o.IsSet() && !o.IsSetDefault()
	}
	return rest, "", nil
}

// flagMessage adds the go-flags trap that bites Nagios users most.
func flagMessage(err error) string {
	msg := err.Error()
	if strings.Contains(msg, "expected argument for flag") && strings.Contains(msg, "but got option") {
		msg += " (a value starting with '-' needs '=', e.g. -w=-5:5)"
	}
	return msg
}

// rewriteLegacy maps check_smtp's old -to/-wt/-ct spellings.
func rewriteLegacy(args []string) []string {
	legacy := map[string]string{"-to": "-t", "-wt": "-w", "-ct": "-c"}
	out := make([]string, len(args))
	for i, a := range args {
		if n, ok := legacy[a]; ok {
			a = n
		}
		out[i] = a
	}
	return out
}
