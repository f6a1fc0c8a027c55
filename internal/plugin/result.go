package plugin

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/smtpcheck/smtpcheck/internal/threshold"
)

// Finding is one judged fact: a state and the sentence that explains it.
type Finding struct {
	State State  `json:"state"`
	Text  string `json:"text"`
}

// Perf is one performance data metric.
type Perf struct {
	Label string
	Value float64
	Unit  string // "s", "B", "" …
	Warn  threshold.Range
	Crit  threshold.Range
	Min   *float64
	Max   *float64
	Item  bool // one of many per-item metrics (an MX address's): left out first where the output would pass MaxOutput
}

// Zero is a ready pointer for Perf.Min.
var Zero = func() *float64 { z := 0.0; return &z }()

// Seconds is a perfdata metric for a duration, min 0.
func Seconds(label string, d time.Duration, t threshold.Pair) Perf {
	return Perf{Label: label, Value: d.Seconds(), Unit: "s", Warn: t.Warn, Crit: t.Crit, Min: Zero}
}

// FormatValue renders a perfdata number: plain decimal, no exponent, at most
// six decimals (microseconds for times), trailing zeros trimmed.
func FormatValue(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "U"
	}
	s := strconv.FormatFloat(v, 'f', 6, 64)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	if s == "-0" {
		s = "0"
	}
	return s
}

// Result is what a check found. Findings decide the state; Details, Perf and
// Transcript are shown below the status line.
type Result struct {
	Service    string // status-line prefix, e.g. "SMTP"
	Findings   []Finding
	Details    []string
	Perf       []Perf
	Transcript []string
	// Items are a plugin's own itemised verdicts (check_smtp_security's
	// sub-checks), listed under "items" by --output json.
	Items any
}

// Add records a judged fact.
func (r *Result) Add(s State, format string, args ...any) {
	r.Findings = append(r.Findings, Finding{State: s, Text: fmt.Sprintf(format, args...)})
}

// Detail adds a line of long output.
func (r *Result) Detail(format string, args ...any) {
	r.Details = append(r.Details, fmt.Sprintf(format, args...))
}

// AddPerf adds metrics.
func (r *Result) AddPerf(p ...Perf) { r.Perf = append(r.Perf, p...) }

// State is the worst state among the findings; none at all is UNKNOWN,
// because a check that judged nothing has not shown that anything works.
func (r *Result) State() State {
	if len(r.Findings) == 0 {
		return Unknown
	}
	st := OK
	for _, f := range r.Findings {
		st = Worst(st, f.State)
	}
	return st
}

// Summary joins the texts of the findings that carry the result's state, so
// the status line names what made it so.
func (r *Result) Summary() string {
	if len(r.Findings) == 0 {
		return "no result"
	}
	return strings.Join(r.summaryParts(), "; ")
}

// summaryParts are the texts of the findings that carry the result's state.
func (r *Result) summaryParts() []string {
	st := r.State()
	var parts []string
	for _, f := range r.Findings {
		if f.State == st {
			parts = append(parts, f.Text)
		}
	}
	return parts
}
