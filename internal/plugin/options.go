package plugin

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	flags "github.com/jessevdk/go-flags"

	"github.com/smtpcheck/smtpcheck/internal/threshold"
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

// The bounds of -t. Below a tenth of a second not even a server on the
// same host can be dialled and greet in time on a loaded machine, so such a
// -t (1e-300, a typo) could only ever time out; an hour is far beyond any
// engine's own timeout.
const (
	minTimeout = 0.1
	maxTimeout = 3600
)

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
	// Asked this way round so that NaN, which fails every comparison, is
	// refused too (ParseFloat accepts "NaN" and "Inf").
	if err != nil || !(secs >= minTimeout && secs <= maxTimeout) {
		return fmt.Errorf("timeout %q: want a number of seconds from %g to %d, optionally followed by :STATE", s, minTimeout, maxTimeout)
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
	Timeout   Timeout `short:"t" long:"timeout" default:"10" value-name:"SECONDS[:STATE]" description:"End the check after SECONDS with STATE, CRITICAL unless :STATE is given"`
	Verbose   []bool  `short:"v" long:"verbose" description:"More detail; -v adds the SMTP transcript (secrets redacted), -vv its timings"`
	Output    string  `long:"output" choice:"text" choice:"json" default:"text" value-name:"FORMAT" description:"Output format: Nagios text or one JSON object (same exit code)"`
	ExtraOpts string  `long:"extra-opts" optional:"yes" value-name:"[SECTION][@FILE]" description:"Read options from an ini file, as monitoring-plugins does: SECTION is the plugin's name unless given, FILE is searched for unless given (see the man page); the value needs '=': --extra-opts=SECTION@FILE"`
	Version   bool    `short:"V" long:"version" description:"Print the version and exit"`

	Args []string `no-flag:"true"` // positional arguments left after parsing

	given    func(long string) bool // set by Parse
	onArgv   func(long string) bool // set by Parse
	spelling Spelling               // set by Parse: the flags advice names
}

// Given reports whether the command line (or --extra-opts) gave the option
// with this long name, so that a zero it gave can be told from "not given".
func (c *Common) Given(long string) bool { return c.given != nil && c.given(long) }

// OnCommandLine reports whether the command line itself, not an
// --extra-opts file, gave the option with this long name: a secret there is
// visible to other users.
func (c *Common) OnCommandLine(long string) bool { return c.onArgv != nil && c.onArgv(long) }

// Base gives the shared layer access to the common options of any plugin's
// option struct that embeds Common.
func (c *Common) Base() *Common { return c }

// Options is any plugin option struct embedding Common.
type Options interface{ Base() *Common }

// Context starts the one deadline of the run under parent (which carries
// the run's activity tracker): -t after start, when the run began, so that
// the time spent reading options and files counts as well.
func (c *Common) Context(parent context.Context, start time.Time) (context.Context, context.CancelFunc) {
	return context.WithDeadline(parent, start.Add(c.Timeout.Duration))
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
// -h and -V always work. A plugin's FlagAdjust is applied to it.
func NewParser(name string, opts Options) *flags.Parser {
	p := flags.NewParser(opts, flags.HelpFlag|flags.PassDoubleDash)
	p.Name = name
	p.NamespaceDelimiter = "-" // a group under namespace:"imap" gives --imap-user
	if a, ok := opts.(FlagAdjuster); ok {
		a.FlagAdjust().apply(p)
	}
	return p
}

// FlagAdjust changes, for one plugin, flags it shares with others through
// a group (TLS, login), by long name.
type FlagAdjust struct {
	Short  map[string]rune   // the flag's short name in this plugin (a shared group has none: they cannot be namespaced)
	Help   map[string]string // the flag's description in this plugin
	Refuse map[string]string // why this plugin takes no such flag: hidden from --help and the man page, refused by the group's Validate
	// Default is the flag's default in this plugin (check_smtp_delivery's
	// -t fits a delivery, not a session).
	Default map[string]string
}

// FlagAdjuster is an option struct whose plugin adjusts shared flags.
type FlagAdjuster interface{ FlagAdjust() FlagAdjust }

func (a FlagAdjust) apply(p *flags.Parser) {
	find := func(long string) *flags.Option {
		o := p.FindOptionByLongName(long)
		if o == nil {
			panic("FlagAdjust names no flag --" + long) // a typo in a plugin: any test of it fails
		}
		return o
	}
	for long, r := range a.Short {
		find(long).ShortName = r
	}
	for long, d := range a.Help {
		find(long).Description = d
	}
	for long := range a.Refuse {
		find(long).Hidden = true
	}
	for long, d := range a.Default {
		find(long).Default = []string{d}
	}
}

// Parse fills opts from args: legacy -to/-wt/-ct rewritten, --extra-opts
// expanded, flags parsed. Text to print for -h/-V comes back in msg with
// ErrHelp or ErrVersion; a bad command line gives a *UsageError.
// ctx bounds and names the reading of ini files (package activity).
func Parse(ctx context.Context, name string, args []string, opts Options) (rest []string, msg string, err error) {
	p := NewParser(name, opts)
	argv := rewriteLegacy(args)
	args, err = expandExtraOpts(ctx, p, argv)
	if err != nil {
		return nil, "", &UsageError{Msg: err.Error()}
	}
	rest, err = p.ParseArgs(args)
	var fe *flags.Error
	switch {
	case errors.As(err, &fe) && fe.Type == flags.ErrHelp:
		var help strings.Builder
		WriteHelp(&help, p, opts, helpWidth())
		return nil, help.String(), ErrHelp
	case opts.Base().Version:
		return nil, fmt.Sprintf("%s %s\n", name, VersionString()), ErrVersion
	case err != nil:
		return nil, "", &UsageError{Msg: flagMessage(p, err)}
	}
	opts.Base().given = setBy(p)
	opts.Base().onArgv = opts.Base().given
	if !slices.Equal(args, argv) { // an --extra-opts file gave options
		opts.Base().onArgv = onCommandLine(name, opts, argv)
	}
	opts.Base().spelling = spellingOf(p)
	return rest, "", nil
}

// setBy reports whether p's parse set the option with this long name, a
// default aside.
func setBy(p *flags.Parser) func(long string) bool {
	return func(long string) bool {
		o := p.FindOptionByLongName(long)
		return o != nil && o.IsSet() && !o.IsSetDefault()
	}
}

// onCommandLine tells the options the command line gave itself from those
// an --extra-opts file gave: argv alone is parsed again, into a scratch copy.
func onCommandLine(name string, opts Options, argv []string) func(long string) bool {
	scratch := reflect.New(reflect.TypeOf(opts).Elem()).Interface().(Options)
	p := NewParser(name, scratch)
	_, _ = p.ParseArgs(argv) // parsed once already, with the file's options
	return setBy(p)
}

// The patterns of go-flags' messages that flagMessage rewords. They are
// compiled on the first usage error, not at every start: a plugin that runs
// every minute should not pay for its error path.
var flagPatterns = sync.OnceValue(func() (p struct{ badValue, boolValue, parsedNumber *regexp.Regexp }) {
	// a value of the wrong kind: the flag's names, the Go type wanted, the converter's own error
	p.badValue = regexp.MustCompile("(?s)^invalid argument for flag `([^']*)'(?: \\(expected [^)]*\\))?: (.*)$")
	// a value given to a switch
	p.boolValue = regexp.MustCompile("^bool flag `([^']*)' cannot have an argument$")
	// the value strconv quotes in its errors
	p.parsedNumber = regexp.MustCompile(`parsing ("(?:[^"\\]|\\.)*")`)
	return p
})

// flagMessage words go-flags' errors for people: a value of the wrong kind
// names the flag and what it wants, never Go's types or functions; the trap
// that bites Nagios users most gets its remedy.
func flagMessage(p *flags.Parser, err error) string {
	msg := err.Error()
	if strings.Contains(msg, "expected argument for flag") && strings.Contains(msg, "but got option") {
		return msg + " (a value starting with '-' needs '=', e.g. -w=-5:5)"
	}
	pat := flagPatterns()
	if m := pat.boolValue.FindStringSubmatch(msg); m != nil {
		if m[1] == "--sni" { // check_smtp_tls --sni=NAME, before the TLS flags were one group
			return "--sni takes no value: use --sni-name NAME"
		}
		return m[1] + " takes no value"
	}
	m := pat.badValue.FindStringSubmatch(msg)
	if m == nil {
		return msg
	}
	flag, long, _ := strings.Cut(m[1], ", --") // "-p, --port"
	var opt *flags.Option
	switch {
	case long != "":
		opt = p.FindOptionByLongName(long)
	case strings.HasPrefix(flag, "--"):
		opt = p.FindOptionByLongName(flag[2:])
	case len(flag) == 2:
		opt = p.FindOptionByShortName(rune(flag[1]))
	}
	want := ""
	if opt != nil {
		want = wants(opt.Field().Type)
	}
	// A reversed range (1:0) reads as a range: "want a range" would not say what is wrong.
	if want == "" || strings.Contains(m[2], threshold.ErrReversed.Error()) {
		return flag + ": " + m[2]
	}
	if v := pat.parsedNumber.FindStringSubmatch(m[2]); v != nil {
		want += ", not " + v[1]
	}
	return flag + ": " + want
}

// wants says what a flag of type t takes; "" when its own parser says it.
func wants(t reflect.Type) string {
	switch t {
	case reflect.TypeFor[Timeout]():
		return fmt.Sprintf("want SECONDS or SECONDS:STATE, e.g. 10 or 10:UNKNOWN (%g to %d seconds)", minTimeout, maxTimeout)
	case reflect.TypeFor[threshold.Range]():
		return "want a Nagios range such as 5, 5:, ~:5, @1:2"
	}
	switch t.Kind() {
	case reflect.Slice, reflect.Map, reflect.Pointer:
		return wants(t.Elem())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "want a whole number"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "want a whole number, 0 or more"
	case reflect.Float32, reflect.Float64:
		return "want a number"
	}
	return ""
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
