// Package threshold implements the Nagios/monitoring-plugins range syntax
// ([@]start:end) described in the plugin development guidelines:
// https://www.monitoring-plugins.org/doc/guidelines.html#THRESHOLDFORMAT
//
// We do not use go-nagios' range parsing: in v0.19.0 it parses "@~:10" as
// 0..0, and its EvaluateThreshold stops at the first WARNING without checking
// later values for CRITICAL.
package threshold

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// ErrSyntax is wrapped by every error Parse returns.
var ErrSyntax = errors.New("invalid threshold range")

// ErrReversed is wrapped, beside ErrSyntax, by Parse's error for a range
// whose start is above its end ("1:0"): it reads as a range but matches
// nothing, so a usage message should say this, not only "want a range".
var ErrReversed = errors.New("its start is above its end")

// Range is a parsed threshold range. Start may be math.Inf(-1) ("~") and End
// may be math.Inf(1) (end omitted). Inside is set by the "@" prefix.
type Range struct {
	Start, End float64
	Inside     bool
	raw        string
}

// Parse parses a range such as "10", "10:", "~:10", "10:20" or "@10:20".
// Surrounding whitespace is ignored.
func Parse(s string) (Range, error) {
	raw := strings.TrimSpace(s)
	fail := func(format string, a ...any) (Range, error) {
		return Range{}, fmt.Errorf("%w %q: %s", ErrSyntax, s, fmt.Sprintf(format, a...))
	}
	if raw == "" {
		return fail("empty")
	}
	r := Range{Start: 0, End: math.Inf(1), raw: raw}
	body := raw
	if rest, ok := strings.CutPrefix(body, "@"); ok {
		r.Inside = true
		body = rest
		if body == "" {
			return fail("no range after @")
		}
	}

	startStr, endStr, hasColon := strings.Cut(body, ":")
	if !hasColon {
		// A lone number is the end; start defaults to 0.
		startStr, endStr = "", body
	}
	if strings.Contains(endStr, ":") {
		return fail("more than one ':'")
	}
	if hasColon && startStr == "" && endStr == "" {
		return fail("missing start and end")
	}

	var err error
	switch startStr {
	case "":
		// ":10" is 0..10, as in the C reference implementation.
	case "~":
		r.Start = math.Inf(-1)
	default:
		if r.Start, err = parseNum(startStr); err != nil {
			return fail("%v", err)
		}
	}
	if endStr != "" {
		if r.End, err = parseNum(endStr); err != nil {
			return fail("%v", err)
		}
	}
	if r.Start > r.End {
		at := strings.TrimSuffix(raw, body) // "@" or ""
		return Range{}, fmt.Errorf("%w %q: %w: write the smaller number first, %s%s:%s",
			ErrSyntax, s, ErrReversed, at, fmtNum(r.End), fmtNum(r.Start))
	}
	return r, nil
}

// parseNum accepts what strconv.ParseFloat accepts, except the NaN/Inf
// words and overflow: infinity is spelled "~" or an omitted end.
func parseNum(s string) (float64, error) {
	if strings.HasPrefix(s, "~") {
		return 0, fmt.Errorf(`"~" is only valid as the whole start, as in "~:10"`)
	}
	f, err := strconv.ParseFloat(s, 64)
	switch {
	case errors.Is(err, strconv.ErrRange) && math.IsInf(f, 0):
		return 0, fmt.Errorf("%q is out of range", s)
	case err != nil:
		return 0, fmt.Errorf("%q is not a number", s)
	case math.IsNaN(f) || math.IsInf(f, 0):
		return 0, fmt.Errorf("%q is not a finite number", s)
	}
	return f, nil
}

func fmtNum(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// Alert reports whether v should raise an alert: v outside Start..End, or
// inside it for an "@" range. Endpoints count as inside. A NaN value never
// alerts, and neither does the zero Range.
func (r Range) Alert(v float64) bool {
	if r.IsZero() {
		return false
	}
	if r.Inside {
		return r.Start <= v && v <= r.End
	}
	return v < r.Start || v > r.End
}

// String returns the text the Range was parsed from (whitespace trimmed), so
// it can go verbatim into perfdata warn/crit fields. The zero Range gives "".
func (r Range) String() string {
	if r.raw != "" || r.IsZero() {
		return r.raw
	}
	// Built as a literal rather than by Parse: render canonical syntax.
	var b strings.Builder
	if r.Inside {
		b.WriteByte('@')
	}
	switch {
	case math.IsInf(r.Start, -1):
		b.WriteString("~:")
	case r.Start != 0 || math.IsInf(r.End, 1):
		b.WriteString(fmtNum(r.Start) + ":")
	}
	if !math.IsInf(r.End, 1) {
		b.WriteString(fmtNum(r.End))
	}
	return b.String()
}

// IsZero reports whether r is the zero Range, meaning no threshold was set.
func (r Range) IsZero() bool { return r == Range{} }

// UnmarshalFlag implements go-flags' Unmarshaler so ranges are validated at
// flag-parsing time.
func (r *Range) UnmarshalFlag(s string) error {
	v, err := Parse(s)
	if err != nil {
		return err
	}
	*r = v
	return nil
}

// MarshalFlag implements go-flags' Marshaler (used for defaults in --help).
func (r Range) MarshalFlag() (string, error) { return r.String(), nil }

// Pair is a warning/critical pair; either may be unset (zero).
type Pair struct{ Warn, Crit Range }

// Level is the outcome of checking a value against a Pair.
type Level int

// Levels, ordered by severity.
const (
	None Level = iota
	Warning
	Critical
)

// Check returns the worst level v triggers: Critical wins over Warning.
func (p Pair) Check(v float64) Level {
	switch {
	case p.Crit.Alert(v):
		return Critical
	case p.Warn.Alert(v):
		return Warning
	}
	return None
}
