package loadcheck

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/smtpcheck/smtpcheck/internal/login"
	"github.com/smtpcheck/smtpcheck/internal/plugin"
	"github.com/smtpcheck/smtpcheck/internal/probe"
	"github.com/smtpcheck/smtpcheck/internal/threshold"
)

// maxErrorLines bounds the errors listed in the long output (JSON has all).
const maxErrorLines = 10

// Judge turns a run's figures into findings, details and perfdata; pure.
//   - credentials that cannot be had: UNKNOWN (a secret store that times
//     out: -t's state)
//   - stopped by a signal: UNKNOWN, the figures so far shown (the run is
//     incomplete by our side's doing, not the server's)
//   - credentials withheld (no TLS, a certificate that does not verify):
//     as check_smtp_auth judges them
//   - stopped after --max-connect-failures sessions in a row could not be
//     set up: plugin.FailureState of the last one (CRITICAL, a timeout
//     -t's state)
//   - no message accepted: the worst plugin.FailureState of the errors
//     (a 4xx in the transaction WARNING, else CRITICAL); none answered at
//     all: -t's state
//   - otherwise the thresholds: error rate (default WARNING above 1 %),
//     accepted messages per second, p99 of a message's total time
func (o *Options) Judge(f *Facts, _ time.Time) *plugin.Result {
	r := &plugin.Result{Service: Service}
	if f.CredErr != nil {
		r.Add(login.CredState(f.CredErr, o.Timeout), "%s", f.CredErr)
		return r
	}
	if f.ResolveErr != nil {
		r.Add(plugin.FailureState(f.ResolveErr, o.Timeout), "%s: %s", f.ResolveErr.Phase, plugin.PlainErr(f.ResolveErr.Err))
		return r
	}
	t := f.Tally
	if f.Stop == StopSignal {
		r.Add(plugin.Unknown, "stopped by %s after %s s: partial figures of %s, %d accepted", f.Signal, plugin.Elapsed(f.Total), plugin.Count(t.Measured, "message"), t.Count[Accepted])
	}
	if f.Auth != nil && (f.Auth.Refused != login.RefuseNone || f.Auth.NotOffered) {
		r.Add(o.judgeAuth(f))
	}
	if f.Stop == StopConnect && f.LastSetupErr != nil {
		r.Add(plugin.FailureState(f.LastSetupErr, o.Timeout), "stopped after %s: %s", o.connStop(), f.Secrets.Scrub(describeIn(f.LastSetupErr, f.Failure, o)))
	}
	switch {
	case t.Measured == 0 && t.Count[Cut] > 0 && f.Stop != StopSignal: // a signal's finding says why
		r.Add(o.Timeout.State, "no message was answered before the run ended (-t %s): %d cut short", plugin.Secs(o.Timeout.Duration), t.Count[Cut])
	case t.Measured == 0 && len(r.Findings) == 0:
		r.Add(plugin.Unknown, "no message measured: the run ended during the warm-up of %s; raise --duration or lower --warmup", plugin.Count(o.Warmup, "message"))
	case t.Count[Accepted] == 0 && f.Stop == StopConnect:
		// said by the stop's finding
	case t.Measured > 0 && t.Count[Accepted] == 0:
		r.Add(o.noneAccepted(f))
	case t.Measured > 0:
		o.thresholds(f, r)
	}
	o.lines(f, r)
	o.perf(f, r)
	r.Items = o.items(f)
	return r
}

// judgeAuth words a login that was not attempted, as check_smtp_auth does.
func (o *Options) judgeAuth(f *Facts) (plugin.State, string, string) {
	a, s := f.Auth, f.AuthSession
	if a.Refused != login.RefuseNone {
		st, msg := a.Refused.Judge(s, o.CAFile)
		return st, "%s", msg
	}
	return plugin.Critical, "%s", fmt.Sprintf("auth: %s does not offer %s (offers: %s)", s, plugin.OrNone(a.Mech), plugin.OrNone(strings.Join(a.Offered, " ")))
}

// noneAccepted is the verdict of a run in which no message got through.
func (o *Options) noneAccepted(f *Facts) (plugin.State, string, string) {
	t := f.Tally
	st := plugin.OK
	for _, e := range t.Errors {
		st = plugin.Worst(st, e.state)
	}
	if st == plugin.OK {
		st = plugin.Critical
	}
	// The error's text names its phase and reply: the key would say it
	// twice, and the status line is short (its advice must fit).
	top, bad := t.Errors[0], t.Count[Rejected]+t.Count[Failed]
	switch {
	case top.Count == bad:
		return st, "%s", fmt.Sprintf("no message accepted: %d of %d %s: %s", bad, t.Measured, verdicts(t), top.Text)
	case top.Key == otherKinds: // its text is one of many, each seen a few times
		return st, "%s", fmt.Sprintf("no message accepted: %d of %d %s, in more than %d kinds of error; one of them: %s", bad, t.Measured, verdicts(t), maxErrorKinds, top.Text)
	}
	return st, "%s", fmt.Sprintf("no message accepted: %d of %d %s; most often (%s): %s", bad, t.Measured, verdicts(t), plugin.Count(top.Count, "time"), top.Text)
}

// verdicts says how the messages ended: "rejected", "failed" or both.
func verdicts(t *Tally) string {
	switch {
	case t.Count[Failed] == 0:
		return "rejected"
	case t.Count[Rejected] == 0:
		return "failed"
	}
	return fmt.Sprintf("rejected or failed (%d rejected, %d failed)", t.Count[Rejected], t.Count[Failed])
}

// thresholds judges a run in which messages got through.
func (o *Options) thresholds(f *Facts, r *plugin.Result) {
	t := f.Tally
	rate, errRate := t.Rate(), t.ErrorRate()
	p99, label := o.p99(t)
	figures := fmt.Sprintf("%s in %s s: %s msgs/s, %d accepted, %d rejected, %d failed; %s p99 %s s",
		plugin.Count(t.Measured, "message"), plugin.Elapsed(t.Elapsed()), fmtRate(rate), t.Count[Accepted], t.Count[Rejected], t.Count[Failed], label, plugin.Elapsed(p99))
	if lvl := (threshold.Pair{Warn: o.WarnErrors, Crit: o.CritErrors}).Check(errRate); lvl != threshold.None {
		msg := fmt.Sprintf("error rate %s %% (%d of %s rejected or failed)", fmtRate(errRate), t.Count[Rejected]+t.Count[Failed], plugin.Count(t.Measured, "message"))
		if len(t.Errors) > 0 {
			msg += fmt.Sprintf("; most often %s (%s)", t.Errors[0].Key, plugin.Count(t.Errors[0].Count, "time"))
		}
		r.Add(state(lvl), "%s", msg)
	}
	// In the open loop a message whose session is still busy when it is due
	// is skipped: a server slower than the rate asked would otherwise pass
	// at whatever rate it managed.
	if started := t.StartRate(); o.openLoop && t.Measured >= 2 && started < keptUp*o.Rate {
		r.Add(plugin.Warning, "only %s of the %g msgs/s asked could start (--rate): every session was still busy when its next message was due; the server cannot take this rate with %s (more --sessions tell a slow server from too few sessions)",
			fmtRate(started), o.Rate, plugin.Count(o.Sessions, "session"))
	}
	if lvl := (threshold.Pair{Warn: o.WarnRate, Crit: o.CritRate}).Check(rate); lvl != threshold.None {
		r.Add(state(lvl), "%s msgs/s accepted (%d in %s s), outside %s", fmtRate(rate), t.Count[Accepted], plugin.Elapsed(t.Elapsed()), limitOf(lvl, o.WarnRate, o.CritRate))
	}
	if lvl := (threshold.Pair{Warn: o.Warning, Crit: o.Critical}).Check(p99.Seconds()); lvl != threshold.None {
		r.Add(state(lvl), "%s p99 %s s, outside %s", label, plugin.Elapsed(p99), limitOf(lvl, o.Warning, o.Critical))
	}
	r.Add(plugin.OK, "%s", figures)
}

// keptUp is the share of --rate an open-loop run must start to count as
// having kept up: beats are scheduled per session, so a little drift at the
// edges of a short run is no verdict.
const keptUp = 0.9

func state(l threshold.Level) plugin.State {
	if l == threshold.Critical {
		return plugin.Critical
	}
	return plugin.Warning
}

func limitOf(l threshold.Level, warn, crit threshold.Range) string {
	if l == threshold.Critical {
		return crit.String()
	}
	return warn.String()
}

// p99 is the p99 the thresholds judge: a message's total time, corrected
// in the open loop.
func (o *Options) p99(t *Tally) (time.Duration, string) {
	label := Total
	if o.openLoop {
		label = Corrected
	}
	h := t.Hists[label]
	if h == nil {
		return 0, label
	}
	return time.Duration(h.ValueAtQuantile(99)) * time.Microsecond, label
}

func fmtRate(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }

// advice is the plugin's spelling with --session-timeout as the limit
// to raise: a session's timeout is what fires in a run, not -t (a session
// timeout equal to -t is cut short by the run's end instead).
func (o *Options) advice() plugin.Spelling {
	sp := o.Spelling()
	sp.Timeout = "--session-timeout"
	return sp
}

// describeIn words e with the session it happened in, when known.
func describeIn(e *probe.Error, out *probe.Outcome, o *Options) string {
	if out == nil {
		return e.Error()
	}
	return describe(e, out.S, o)
}

// labels are the histograms in report order: the session's phases, then
// the message's totals.
func labels(t *Tally) []string {
	var out []string
	for _, ph := range probe.Phases {
		if t.Hists[string(ph)] != nil {
			out = append(out, string(ph))
		}
	}
	for _, l := range []string{Total, Corrected} {
		if t.Hists[l] != nil {
			out = append(out, l)
		}
	}
	return out
}

func secs(us int64) string { return plugin.FormatValue(float64(us) / 1e6) }

// lines is the long output.
func (o *Options) lines(f *Facts, r *plugin.Result) {
	t := f.Tally
	if o.openLoop {
		r.Detail("load: open loop, %g msgs/s asked (%s, each one message every %s s), %s started per second", o.Rate, plugin.Count(o.Sessions, "session"), plugin.Secs(o.interval), fmtRate(t.StartRate()))
	} else {
		r.Detail("load: closed loop, sessions at once: %d", o.Sessions)
	}
	r.Detail("messages: %d bytes, recipients per message %d, per session %d; %d measured (%d accepted, %d rejected, %d failed) in %s over %s s; %d cut short by the end of the run; %d warm-up left out; stopped: %s",
		f.Size, o.Recipients, o.PerSession, t.Measured, t.Count[Accepted], t.Count[Rejected], t.Count[Failed], plugin.Count(f.Sessions, "session"), plugin.Elapsed(t.Elapsed()), t.Count[Cut], f.Warmup, o.stopText(f))
	for _, l := range labels(t) {
		h := t.Hists[l]
		r.Detail("%s: n=%d p50=%s p90=%s p99=%s max=%s s", l, h.TotalCount(), secs(h.ValueAtQuantile(50)), secs(h.ValueAtQuantile(90)), secs(h.ValueAtQuantile(99)), secs(h.Max()))
	}
	if len(t.Classes) > 0 {
		var parts []string
		for _, c := range slices.Sorted(maps.Keys(t.Classes)) {
			parts = append(parts, c+" "+strconv.Itoa(t.Classes[c]))
		}
		r.Detail("errors by class: %s", strings.Join(parts, ", "))
	}
	for i, e := range t.Errors {
		if i == maxErrorLines {
			r.Detail("... %s of error (--output json lists all)", plugin.Count(len(t.Errors)-i, "more kind"))
			break
		}
		r.Detail("error: %s x%d: %s", e.Key, e.Count, e.Text)
	}
	if f.First != nil && f.First.S != nil {
		plugin.SessionLines(r, f.First.S, &o.Common, "extensions: "+plugin.OrNone(strings.Join(f.First.S.Ext.Names(), " ")), "")
		if f.Failure != nil && f.Failure != f.First && o.Verbosity() > 0 {
			r.Transcript = append(r.Transcript, "--- the first session that failed ---")
			r.Transcript = append(r.Transcript, f.Failure.S.Transcript.ForVerbosity(o.Verbosity())...)
		}
	}
}

// connStop says that --max-connect-failures stopped the run.
func (o *Options) connStop() string {
	if o.MaxConnFail == 1 {
		return "a session could not be set up"
	}
	return fmt.Sprintf("%d sessions in a row could not be set up", o.MaxConnFail)
}

// stopText says why the run ended.
func (o *Options) stopText(f *Facts) string {
	switch f.Stop {
	case StopMessages:
		return "all " + plugin.Count(o.Messages, "message") + " sent"
	case StopDuration:
		return fmt.Sprintf("--duration %s s passed", plugin.Secs(o.duration))
	case StopConnect:
		return o.connStop()
	case StopSignal:
		return f.Signal
	case StopDeadline:
		return "-t came first"
	}
	return "not started"
}

// perf is the perfdata: throughput, counts, error rate, and per phase
// p50/p90/p99/max in seconds.
func (o *Options) perf(f *Facts, r *plugin.Result) {
	t := f.Tally
	count := func(label string, n int) plugin.Perf {
		return plugin.Perf{Label: label, Value: float64(n), Min: plugin.Zero}
	}
	hundred := 100.0
	r.AddPerf(plugin.Perf{Label: "rate", Value: t.Rate(), Warn: o.WarnRate, Crit: o.CritRate, Min: plugin.Zero},
		count("accepted", t.Count[Accepted]), count("rejected", t.Count[Rejected]), count("failed", t.Count[Failed]),
		plugin.Perf{Label: "error_rate", Value: t.ErrorRate(), Unit: "%", Warn: o.WarnErrors, Crit: o.CritErrors, Min: plugin.Zero, Max: &hundred},
		count("sessions", f.Sessions), plugin.Seconds("elapsed", t.Elapsed(), threshold.Pair{}))
	_, judged := o.p99(t)
	for _, l := range labels(t) {
		h := t.Hists[l]
		for _, q := range []struct {
			name string
			v    int64
		}{{"p50", h.ValueAtQuantile(50)}, {"p90", h.ValueAtQuantile(90)}, {"p99", h.ValueAtQuantile(99)}, {"max", h.Max()}} {
			p := plugin.Seconds(l+"_"+q.name, time.Duration(q.v)*time.Microsecond, threshold.Pair{})
			if l == judged && q.name == "p99" {
				p.Warn, p.Crit = o.Warning, o.Critical
			}
			p.Item = l != Total && l != Corrected
			r.AddPerf(p)
		}
	}
}

// Report is --output json's "items": the whole run, histograms included.
type Report struct {
	Mode       string         `json:"mode"` // closed or open
	Sessions   int            `json:"sessions"`
	Rate       float64        `json:"rate_asked,omitempty"`
	PerSession int            `json:"per_session"`
	Measured   int            `json:"measured"`
	Accepted   int            `json:"accepted"`
	Rejected   int            `json:"rejected"`
	Failed     int            `json:"failed"`
	Cut        int            `json:"cut"`
	Warmup     int            `json:"warmup"`
	Opened     int            `json:"sessions_opened"`
	Elapsed    float64        `json:"elapsed_s"`
	Throughput float64        `json:"msgs_per_s"`
	ErrorRate  float64        `json:"error_rate_pct"`
	Stop       string         `json:"stop"`
	Classes    map[string]int `json:"errors_by_class"`
	Errors     []ErrorCount   `json:"errors"`
	Phases     []PhaseStats   `json:"phases"`
}

// PhaseStats are one histogram's figures, in seconds, and its buckets.
type PhaseStats struct {
	Phase   string   `json:"phase"`
	Count   int64    `json:"count"`
	Min     float64  `json:"min_s"`
	Mean    float64  `json:"mean_s"`
	P50     float64  `json:"p50_s"`
	P90     float64  `json:"p90_s"`
	P99     float64  `json:"p99_s"`
	Max     float64  `json:"max_s"`
	Buckets []Bucket `json:"buckets"`
}

func (o *Options) items(f *Facts) *Report {
	t := f.Tally
	rep := &Report{Mode: "closed", Sessions: o.Sessions, PerSession: o.PerSession, Measured: t.Measured,
		Accepted: t.Count[Accepted], Rejected: t.Count[Rejected], Failed: t.Count[Failed], Cut: t.Count[Cut],
		Warmup: f.Warmup, Opened: f.Sessions, Elapsed: t.Elapsed().Seconds(), Throughput: t.Rate(),
		ErrorRate: t.ErrorRate(), Stop: f.Stop, Classes: t.Classes, Errors: t.Errors, Phases: []PhaseStats{}}
	if o.openLoop {
		rep.Mode, rep.Rate = "open", o.Rate
	}
	if rep.Errors == nil {
		rep.Errors = []ErrorCount{}
	}
	for _, l := range labels(t) {
		rep.Phases = append(rep.Phases, stats(l, t.Hists[l]))
	}
	return rep
}

func stats(label string, h *hdrhistogram.Histogram) PhaseStats {
	s := func(us int64) float64 { return float64(us) / 1e6 }
	mean := h.Mean() / 1e6
	if math.IsNaN(mean) {
		mean = 0
	}
	return PhaseStats{Phase: label, Count: h.TotalCount(), Min: s(h.Min()), Mean: mean, P50: s(h.ValueAtQuantile(50)),
		P90: s(h.ValueAtQuantile(90)), P99: s(h.ValueAtQuantile(99)), Max: s(h.Max()), Buckets: histBuckets(h)}
}
