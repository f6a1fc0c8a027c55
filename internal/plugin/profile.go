package plugin

import (
	"fmt"
	"strings"

	flags "github.com/jessevdk/go-flags"

	"github.com/smtpcheck/smtpcheck/internal/activity"
)

// A profile is one [section] of an ini file in --extra-opts' format that
// holds a whole check (the health endpoint runs them in-process). These
// functions read it with the same parser --extra-opts uses.

// IniSections are the names of the sections of an ini file's text, in
// order. A name given twice is refused: a profile is one section.
func IniSections(data string) ([]string, error) {
	var names []string
	seen := map[string]int{}
	n := 0
	for line := range strings.Lines(data) {
		n++
		line = strings.TrimSpace(line)
		if line == "" || line[0] != '[' {
			continue
		}
		end := strings.IndexByte(line, ']')
		if end < 0 {
			return nil, fmt.Errorf("line %d: unterminated section header", n)
		}
		name := strings.TrimSpace(line[1:end])
		if first, dup := seen[name]; dup {
			return nil, fmt.Errorf("line %d: section [%s] again (first on line %d): give each its own name", n, name, first)
		}
		seen[name] = n
		names = append(names, name)
	}
	return names, nil
}

// SectionArgs turns one section of an ini file's text into the arguments
// --extra-opts would insert: isOption says which keys the reader takes (a
// key it refuses is named only when a value follows it: a bare line may be
// a secret). found is false when there is no such section.
func SectionArgs(data, section, reader string, isOption func(key string) bool) (args []string, found bool, err error) {
	return parseIniSection(data, section, reader, isOption)
}

// IsOptionOf says which ini keys (long names, or one letter for a short
// flag) are options of the plugin name with options opts.
func IsOptionOf(name string, opts Options) func(key string) bool {
	p := NewParser(name, opts)
	return func(key string) bool {
		if len(key) == 1 {
			return p.FindOptionByShortName(rune(key[0])) != nil
		}
		return p.FindOptionByLongName(key) != nil
	}
}

// ParseProfile fills opts, the options of the plugin name, from args that
// came from a profile rather than a command line: nothing counts as given
// on the command line (OnCommandLine is false for every option), so a
// password in the file is treated as one read with --extra-opts. Nothing
// is validated: the caller runs the plugin's Validate.
func ParseProfile(name string, args []string, opts Options) error {
	p := NewParser(name, opts)
	rest, err := p.ParseArgs(args)
	if err != nil {
		return &UsageError{Msg: flagMessage(p, err)}
	}
	opts.Base().Args = rest
	opts.Base().given = setBy(p)
	opts.Base().onArgv = func(string) bool { return false }
	return nil
}

// Stuck is the verdict of a run that missed its -t by the watchdog's margin,
// naming what tracker says was in progress (see Run).
func Stuck(service string, t Timeout, tracker *activity.Tracker) *Result {
	return stuck(service, t, false, tracker)
}

// WatchdogMargin is how long past -t a run may take to end on its own.
const WatchdogMargin = watchdogMargin

// JSONPerf is a metric as --output json writes it, for other JSON bodies
// (the health endpoint's).
type JSONPerf = jsonPerf

// PerfJSON is m as --output json writes it.
func PerfJSON(m Perf) JSONPerf {
	return jsonPerf{m.Label, m.Value, m.Unit, m.Warn.String(), m.Crit.String(), m.Min, m.Max}
}

// FlagMessage words an error of go-flags' parser p for people, as the
// plugins' own command lines are worded: the flag and what it wants, never
// Go's types.
func FlagMessage(p *flags.Parser, err error) string { return flagMessage(p, err) }
