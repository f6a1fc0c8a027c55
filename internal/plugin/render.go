package plugin

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/atc0005/go-nagios"

	"github.com/smtpcheck/smtpcheck/internal/threshold"
)

// Output limits: Nagios keeps 8 KB of plugin output by default and perfdata
// comes last, so long output is cut to make room, never perfdata.
const (
	MaxOutput     = 8192
	maxStatusLen  = 400
	maxDetailLen  = 500
	outputReserve = 64   // go-nagios' separators and line endings
	minLongShare  = 2048 // of the long output, kept before per-item perfdata
	cutMargin     = 60   // for the line saying how many lines were cut
)

// started approximates the plugin's start for its run time.
var started = time.Now()

// Render sets p's output and exit code from r: text through go-nagios, or a
// JSON object written to p's output target. This is the only place a state
// becomes an exit code.
func Render(p *nagios.Plugin, r *Result, c *Common) {
	st := r.State()
	p.ExitStatusCode = int(st)
	if c != nil && c.Output == "json" {
		p.ServiceOutput = "" // go-nagios then prints nothing; JSON is all
		if err := writeJSON(p.OutputTarget(), r, c); err != nil {
			p.ExitStatusCode = int(Unknown)
		}
		return
	}
	status, omitted := statusLine(r)
	status = Sanitize(status, maxStatusLen)

	metrics := r.Perf
	if !slices.ContainsFunc(metrics, func(m Perf) bool { return m.Label == "time" }) {
		// go-nagios would add its own 'time' in ms; ours is seconds, as
		// check_smtp's, so that one label never changes unit in a graph.
		metrics = append(metrics, Seconds("time", time.Since(started), threshold.Pair{}))
	}
	lines := longLines(r, c, omitted)
	longLen := 0
	for _, l := range lines {
		longLen += len(l) + 1
	}
	// Per-item metrics get what is left once the status line, the other
	// metrics, a share of the long output and the note on what was left
	// out are counted: Nagios cuts the output at MaxOutput, and a cut
	// perfdata line is lost whole.
	longShare := min(longLen, minLongShare) + cutMargin + len(droppedNote(len(metrics))) + 1
	perf, perfLen, dropped := fitPerf(metrics, MaxOutput-len(status)-outputReserve-longShare)
	if len(perf) > 0 {
		// Our metrics are built from floats and checked labels; go-nagios'
		// validation is weaker than that, so it is skipped.
		_ = p.AddPerfData(true, perf...)
	}
	note := ""
	if dropped > 0 {
		note = droppedNote(dropped)
	}
	budget := MaxOutput - len(status) - perfLen - outputReserve
	// The long output goes into ServiceOutput, below the status line: given
	// as LongServiceOutput, go-nagios would put a line holding one space
	// between the two. Perfdata then ends the last line, as in the plugin
	// API's multi-line layout ("TEXT | PERFDATA").
	p.ServiceOutput, p.LongServiceOutput = status, ""
	if long := joinWithin(lines, budget, note); long != "" {
		p.ServiceOutput += "\n" + long
	}
	p.SetOutputTarget(lineEnds{p.OutputTarget()})
}

// lineEnds drops the spaces before line ends in what go-nagios writes (its
// CheckOutputEOL is " \n", a workaround for Nagios XI's web UI): Nagios Core
// and Icinga 2 read plain "\n", as monitoring-plugins print it, and a
// trailing space is noise on a dashboard and in every mail.
type lineEnds struct{ w io.Writer }

// Write takes go-nagios' whole output in one piece, as its emitOutput
// writes it.
func (l lineEnds) Write(b []byte) (int, error) {
	lines := strings.Split(string(b), "\n")
	for i, line := range lines {
		lines[i] = strings.TrimRight(line, " ")
	}
	if _, err := io.WriteString(l.w, strings.Join(lines, "\n")); err != nil {
		return 0, err
	}
	return len(b), nil
}

// statusLine names as many of the deciding findings as fit a dashboard line;
// the rest are counted there and listed first in the long output.
func statusLine(r *Result) (line string, omitted []string) {
	st := r.State()
	line = fmt.Sprintf("%s %s - ", r.Service, st)
	parts := r.summaryParts()
	if len(parts) == 0 {
		return line + r.Summary(), nil
	}
	for i, p := range parts {
		if i > 0 && len(line)+2+len(p) > maxStatusLen-30 {
			for _, rest := range parts[i:] {
				omitted = append(omitted, "["+st.String()+"] "+rest)
			}
			return fmt.Sprintf("%s (+%d more below)", line, len(omitted)), omitted
		}
		if i > 0 {
			line += "; "
		}
		line += p
	}
	return line, nil
}

// fitPerf keeps every metric but the per-item ones (Perf.Item) beyond
// budget bytes: those are kept in order while they fit, and the rest
// counted as dropped.
func fitPerf(metrics []Perf, budget int) (perf []nagios.PerformanceData, size, dropped int) {
	for _, m := range metrics {
		if !m.Item {
			budget -= len(toNagios(m).String())
		}
	}
	perf = make([]nagios.PerformanceData, 0, len(metrics))
	for _, m := range metrics {
		pd := toNagios(m)
		n := len(pd.String())
		if m.Item {
			if dropped > 0 || n > budget {
				dropped++ // the first ones stay, not a random subset
				continue
			}
			budget -= n
		}
		perf = append(perf, pd)
		size += n
	}
	return perf, size, dropped
}

// droppedNote counts the per-item metrics fitPerf left out.
func droppedNote(n int) string {
	return fmt.Sprintf("(%d more perfdata values left out to keep the output under %d bytes)", n, MaxOutput)
}

// longLines are the findings the status line does not show (those at its
// state it had no room for, then every other finding with its state: a
// WARNING that qualifies a CRITICAL must not vanish), the details and, with
// -v, the transcript.
func longLines(r *Result, c *Common, omitted []string) []string {
	lines := make([]string, 0, len(r.Findings)+len(r.Details)+len(r.Transcript))
	st := r.State()
	for _, f := range r.Findings {
		if f.State != st {
			omitted = append(omitted, "["+f.State.String()+"] "+f.Text)
		}
	}
	for _, d := range append(omitted, r.Details...) {
		lines = append(lines, Sanitize(d, maxDetailLen))
	}
	if c != nil && c.Verbosity() > 0 {
		for _, t := range r.Transcript {
			lines = append(lines, Sanitize(t, maxDetailLen))
		}
	}
	return lines
}

// joinWithin joins lines, dropping them from the end once budget bytes are
// used, and saying so; note, if any, ends the text whatever the budget.
func joinWithin(lines []string, budget int, note string) string {
	if note != "" {
		budget -= len(note) + 1
	}
	var b strings.Builder
	for i, l := range lines {
		if i > 0 {
			b.WriteByte('\n')
		}
		if b.Len()+len(l) > budget-cutMargin {
			fmt.Fprintf(&b, "(%d more lines cut to keep the output under %d bytes)", len(lines)-i, MaxOutput)
			break
		}
		b.WriteString(l)
	}
	if note != "" {
		if b.Len() > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(note)
	}
	return b.String()
}

func toNagios(m Perf) nagios.PerformanceData {
	pd := nagios.PerformanceData{
		Label:             m.Label,
		Value:             FormatValue(m.Value),
		UnitOfMeasurement: m.Unit,
		Warn:              m.Warn.String(),
		Crit:              m.Crit.String(),
	}
	if m.Min != nil {
		pd.Min = FormatValue(*m.Min)
	}
	if m.Max != nil {
		pd.Max = FormatValue(*m.Max)
	}
	return pd
}

type jsonPerf struct {
	Label string   `json:"label"`
	Value float64  `json:"value"`
	Unit  string   `json:"unit,omitempty"`
	Warn  string   `json:"warn,omitempty"`
	Crit  string   `json:"crit,omitempty"`
	Min   *float64 `json:"min,omitempty"`
	Max   *float64 `json:"max,omitempty"`
}

type jsonResult struct {
	State      string     `json:"state"`
	ExitCode   int        `json:"exit_code"`
	Summary    string     `json:"summary"`
	Findings   []jsonFind `json:"findings"`
	Details    []string   `json:"details,omitempty"`
	Perfdata   []jsonPerf `json:"perfdata"`
	Transcript []string   `json:"transcript,omitempty"`
	Items      any        `json:"items,omitempty"`
}

type jsonFind struct {
	State string `json:"state"`
	Text  string `json:"text"`
}

func writeJSON(w io.Writer, r *Result, c *Common) error {
	st := r.State()
	out := jsonResult{State: st.String(), ExitCode: int(st), Summary: r.Summary(), Details: r.Details,
		Findings: []jsonFind{}, Perfdata: []jsonPerf{}, Items: r.Items}
	for _, f := range r.Findings {
		out.Findings = append(out.Findings, jsonFind{f.State.String(), f.Text})
	}
	for _, m := range r.Perf {
		out.Perfdata = append(out.Perfdata, jsonPerf{m.Label, m.Value, m.Unit, m.Warn.String(), m.Crit.String(), m.Min, m.Max})
	}
	if c.Verbosity() > 0 {
		out.Transcript = r.Transcript
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(out)
}
